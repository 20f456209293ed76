"""Page-view counting, the anonymous page cache, and the reader's language."""

import re

from sqlalchemy import update

from model import Article, DailyStat
from model.base import utcnow
from service import editor
from tests.support.live import BlogClient, page_text
from tests.support.meter import Meter, background_done
from tests.web.reader.conftest import article_by_slug, article_url, invalidate, post_comment


def flush(live):
    live.call(lambda: live.app.jobs.run_now("flush-counters"))


def views(live, article_id):
    return live.service(lambda s: s.get(Article, article_id).view_count)


def daily(live):
    return live.service(lambda s: s.get(DailyStat, utcnow().date()))


def test_people_are_counted_robots_and_head_requests_are_not(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    url = article_url(article)
    client.get(url)
    client.get(url)
    client.head(url)
    client.get(url, headers={"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
    client.get(url, headers={"User-Agent": ""})
    # Another browser (no cookie tells them apart: the address and the browser do).
    other = BlogClient(site.url)
    other.headers["User-Agent"] = "Mozilla/5.0 (Macintosh) InkwellTests/2.0"
    other.get("/")
    flush(site)
    assert views(site, article.id) == 2
    stat = daily(site)
    assert stat.pv == 3 and stat.uv == 2
    # A second flush adds only what came after the first.
    client.get(url)
    flush(site)
    assert views(site, article.id) == 3
    assert daily(site).pv == 4 and daily(site).uv == 2


def test_the_statistics_widget_shows_todays_views(site, client):
    client.get("/")
    client.get("/")
    html = client.get("/?page=2").text  # a page not cached yet, counted once it is sent
    stats = page_text(html[html.index('class="stats"') :])
    assert re.search(r"Views today (\d+)", stats).group(1) == "2"
    assert re.search(r"Visitors today (\d+)", stats).group(1) == "1"


def test_the_page_cache_serves_fresh_content_right_after_an_invalidation(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    assert "Welcome to Inkwell" in client.get("/").text

    def rename(session):
        session.execute(
            update(Article).where(Article.id == article.id).values(title="Hello from the cache")
        )
        session.commit()

    site.service(rename)
    # Nobody told the app: the anonymous home page still comes from the cache...
    assert "Hello from the cache" not in client.get("/").text
    invalidate(site, "articles", f"article:{article.id}", "pages")
    # ...and the very next request after the invalidation sees the change.
    assert "Hello from the cache" in client.get("/").text


def test_a_shared_page_carries_no_visitors_token_or_cookie(site):
    article = article_by_slug(site, "welcome-to-inkwell")
    first, second = BlogClient(site.url), BlogClient(site.url)
    pages = [reader.get(article_url(article)) for reader in (first, second)]
    # The page-cached copy and the first rendering are the same bytes for everyone, with
    # nothing personal for nginx's micro-cache to keep: no cookie, no token, no form time.
    assert pages[0].text == pages[1].text
    for page in pages:
        assert "Set-Cookie" not in page.headers
        assert "no-store" not in page.headers.get("Cache-Control", "")
        assert "private" not in page.headers.get("Cache-Control", "")
        assert '<input type="hidden" name="_xsrf" value="">' in page.text
        assert '<input type="hidden" name="form_time" value="">' in page.text
    assert not first.cookies and not second.cookies
    # The form's script fetches each visitor's own token (a cookie) and signed form time.
    tokens = [reader.get(f"/article/{article.id}/comment") for reader in (first, second)]
    for answer in tokens:
        assert answer.headers["Cache-Control"] == "no-store"
        assert "_xsrf=" in answer.headers["Set-Cookie"]
    assert tokens[0].json()["xsrf"] != tokens[1].json()["xsrf"]
    for reader, answer in zip((first, second), tokens, strict=True):
        form = {
            "author_name": "Reader",
            "content": "hello",
            "form_time": answer.json()["form_time"],
        }
        form["_xsrf"] = answer.json()["xsrf"]
        assert reader.post(f"/article/{article.id}/comment", data=form).status_code == 303


def test_a_post_without_a_token_comes_back_to_confirm_with_its_text(site):
    article = article_by_slug(site, "welcome-to-inkwell")
    reader = BlogClient(site.url)  # no JavaScript: the shared page's fields stay empty
    reader.get(article_url(article))
    form = {"author_name": "Nojs", "content": "Written without scripts", "reply_to": ""}
    form |= {"_xsrf": "", "form_time": ""}
    confirm = reader.post(f"/article/{article.id}/comment", data=form)
    assert confirm.status_code == 403
    text = page_text(confirm.text)
    assert "Please confirm your comment" in text
    assert "Written without scripts" in confirm.text and 'value="Nojs"' in confirm.text
    # The page to confirm carries this visitor's own token and form time: posting it works.
    fresh = {
        "_xsrf": re.search(r'name="_xsrf" value="([^"]+)"', confirm.text).group(1),
        "form_time": re.search(r'name="form_time" value="([^"]+)"', confirm.text).group(1),
    }
    assert reader.cookies.get("_xsrf")
    posted = reader.post(f"/article/{article.id}/comment", data=form | fresh)
    assert posted.status_code == 303


def test_a_new_comment_shows_at_once_to_anonymous_readers(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    reader = BlogClient(site.url)
    assert "Fresh words" not in reader.get(article_url(article)).text
    post_comment(client, article, "Fresh words")
    assert "Fresh words" in reader.get(article_url(article)).text
    assert "3 comments" in page_text(reader.get("/").text)


def test_accept_language_chinese_shows_chinese(site, client):
    response = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in response.text
    text = page_text(response.text)
    assert "跳到正文" in text and "搜索" in text and "归档" in text and "首页" in text
    english = BlogClient(site.url).get("/", headers={"Accept-Language": "en-US"})
    assert "Skip to content" in english.text


def test_the_language_switch_remembers_the_choice_and_stays_on_site(site, client):
    response = client.get("/lang/zh_CN?next=/archive", allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "/archive"
    assert "归档" in client.get("/archive").text
    evil = client.get("/lang/en_US?next=//evil.example/", allow_redirects=False)
    assert evil.headers["Location"] == "/"
    assert "Skip to content" in client.get("/").text
    assert client.get("/lang/xx_YY", allow_redirects=False).status_code == 404


def test_chinese_article_page_and_comment_form(site, client):
    client.get("/lang/zh_CN?next=/")
    article = article_by_slug(site, "tornado-blog-zh")
    text = page_text(client.get(article_url(article)).text)
    assert "发表评论" in text and "昵称" in text and "提交评论" in text
    refused = post_comment(client, article, "  ")
    assert refused.status_code == 400 and "评论内容是空的。" in refused.text


def test_the_search_index_follows_a_renamed_article(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    client.get("/search?q=zeppelin")

    def rename(session):
        form = editor.ArticleForm.from_article(editor.load_article(session, article.id))
        form.title = "Zeppelin notes"
        editor.save_article(session, article.id, form)

    site.service(rename)
    invalidate(site, "articles", "pages")
    assert "Zeppelin notes" in page_text(client.get("/search?q=zeppelin").text)


def test_unknown_query_arguments_share_the_cached_page(site, client):
    client.get("/")
    site.service(lambda s: (s.execute(update(Article).values(title="Renamed quietly")), s.commit()))
    # Still the cached page: the tracking argument did not make a new entry.
    assert "Renamed quietly" not in client.get("/?utm_source=newsletter").text
    found = page_text(client.get("/tag/redis").text)
    assert "Renamed quietly" in found  # a page nobody asked for yet is built afresh


def test_no_anonymous_reader_page_sets_a_cookie_or_holds_a_token(site):
    home = BlogClient(site.url).get("/").text
    linked = [
        re.search(rf'href="(/{kind}/[^"?#]+)"', home).group(1)
        for kind in ("category", "tag", "archive", "article")
    ]
    paths = ["/", "/?page=2", *linked, "/search?q=markdown", "/feed.atom", "/feed.rss"]
    paths += ["/sitemap.xml", "/robots.txt", f"{linked[0]}/feed.atom"]
    for path in paths:
        for _ in range(2):  # rendered, then from the page cache
            reader = BlogClient(site.url)
            response = reader.get(path)
            assert response.status_code == 200, path
            assert "Set-Cookie" not in response.headers, path
            assert not re.search(r'name="(_xsrf|form_time)" value="[^"]', response.text), path


def test_a_cached_article_is_the_fresh_bytes_answers_if_none_match_and_runs_no_sql(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    url = article_url(article)
    fresh = client.get(url)
    cached = client.get(url)
    assert fresh.status_code == cached.status_code == 200
    assert cached.content == fresh.content
    assert cached.headers["Etag"] == fresh.headers["Etag"]
    # A browser holding the page gets "not modified", without the body, and is still counted.
    again = client.get(url, headers={"If-None-Match": cached.headers["Etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(url, headers={"If-None-Match": '"stale"'}).content == fresh.content
    flush(site)
    assert views(site, article.id) == 4
    # The flush changed the counts the page shows: built afresh once, then served as kept.
    rebuilt = client.get(url).content
    background_done(site)
    meter = Meter(site)
    with meter.measure():
        assert client.get(url).content == rebuilt
    assert meter.statements == []
