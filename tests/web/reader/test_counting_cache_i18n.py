"""Page-view counting, the anonymous page cache, and the reader's language."""

import re

from sqlalchemy import update

from model import Article, DailyStat
from model.base import utcnow
from service import editor
from tests.support.live import BlogClient, page_text
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
    BlogClient(site.url).get("/")
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


def test_cached_pages_carry_each_visitors_own_tokens(site):
    article = article_by_slug(site, "welcome-to-inkwell")
    first, second = BlogClient(site.url), BlogClient(site.url)
    pages = [reader.get(article_url(article)) for reader in (first, second)]
    tokens = [re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    # Each visitor gets their own cookies; none is replayed from the cache.
    assert first.cookies.get("vid") != second.cookies.get("vid")
    assert "vid=" in pages[1].headers.get("Set-Cookie", "")
    # Both forms work, with their own XSRF cookie.
    site.app.comment_guard.min_seconds = 0
    for reader in (first, second):
        assert post_comment(reader, article, "hello").status_code == 303


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
