"""Commenting: floors, replies, the author's mark, safe text, modes and spam defence."""

import html as html_module
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

from sqlalchemy import select

from extends.ratelimit import MemoryRateLimit
from model import Comment
from tests.support.live import BlogClient, page_text
from tests.web.reader.conftest import (
    article_by_slug,
    article_url,
    form_time,
    post_comment,
    set_site,
)


class Elements(HTMLParser):
    """Every element and its attributes, as a browser would build them (avatars aside)."""

    def __init__(self):
        super().__init__()
        self.found = []
        self.in_avatar = False

    def handle_starttag(self, tag, attrs):
        if tag == "svg" and ("class", "avatar") in attrs:
            self.in_avatar = True
            return
        if not self.in_avatar:
            self.found.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_avatar = False


def floors(live, article_id):
    return live.service(
        lambda s: sorted(s.scalars(select(Comment.floor).where(Comment.article_id == article_id)))
    )


def test_a_comment_appears_on_the_next_floor(site, client):
    article = article_by_slug(site, "writing-in-markdown")  # has one comment already
    response = post_comment(client, article, "Tables with pipes are handy.")
    assert response.status_code == 303
    assert response.headers["Location"] == article_url(article) + "#floor-2"
    page = client.follow(response)
    assert 'id="floor-2"' in page.text and "Tables with pipes are handy." in page.text
    assert "2 comments" in page_text(client.get("/").text)  # the count on the home page


def test_a_reply_links_to_the_floor_it_answers(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    first = site.service(
        lambda s: s.scalar(select(Comment).where(Comment.article_id == article.id))
    )
    page = client.get(article_url(article) + f"?reply_to={first.id}")
    assert "Replying to #1." in page_text(page.text)
    post_comment(client, article, "Agreed!", reply_to=str(first.id))
    html = client.get(article_url(article)).text
    reply = html[html.index('id="floor-2"') :]
    assert '<a href="#floor-1">In reply to #1</a>' in reply


def test_the_signed_in_authors_comment_is_marked(site, client, auth):
    auth.login()
    article = article_by_slug(site, "writing-in-markdown")
    assert post_comment(client, article, "Thanks for reading.", author_name="").status_code == 303
    html = client.get(article_url(article)).text
    assert 'class="comment by-author" id="floor-2"' in html
    assert "Ada Admin" in page_text(html[html.index('id="floor-2"') :])


def test_hostile_comments_show_as_harmless_text(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    attacks = [
        "<script>alert('x')</script>",
        '<a href="javascript:alert(1)">click</a> javascript:alert(2)',
        '<img src=x onerror="alert(3)">',
        "<svg onload=alert(4)>",
    ]
    for attack in attacks:
        assert post_comment(client, article, attack, author_name="<b>Eve</b>").status_code == 303
    html = client.get(article_url(article)).text
    comments = html[html.index('id="comments"') : html.index('id="comment-form"')]
    elements = Elements()
    elements.feed(comments)
    assert not {"script", "img", "svg"} & {tag for tag, _ in elements.found}
    for _tag, attributes in elements.found:
        assert not any(name.startswith("on") for name, _ in attributes)
        assert not any((value or "").startswith("javascript:") for _, value in attributes)
    # What the reader sees is the text that was typed.
    shown = html_module.unescape(page_text(comments))
    for attack in attacks:
        assert attack in shown
    assert "<b>Eve</b>" in shown


def test_addresses_become_nofollow_links(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    post_comment(client, article, "See https://example.org/docs?a=1&b=2.\nThanks")
    html = client.get(article_url(article)).text
    link = re.search(r'<a href="https://example.org/docs\?a=1&amp;b=2"[^>]*>', html)
    assert link and 'rel="nofollow ugc noopener"' in link.group(0)


def test_a_refused_comment_keeps_the_text_and_says_why(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    response = post_comment(client, article, "My careful words", author_name="   ")
    assert response.status_code == 400
    assert "Please give a name." in response.text
    assert ">My careful words</textarea>" in response.text
    assert floors(site, article.id) == [1]


def test_the_honeypot_and_the_clock_stop_robots(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    trapped = post_comment(client, article, "Buy now", website="http://spam.example")
    assert trapped.status_code == 400 and "looks automated" in trapped.text
    no_time = client.post_form(
        f"/article/{article.id}/comment",
        {"author_name": "Bot", "content": "hi", "form_time": "forged"},
    )
    assert no_time.status_code == 400 and "The form has expired" in no_time.text
    site.app.comment_guard.min_seconds = 60
    hasty = post_comment(client, article, "Too quick")
    assert hasty.status_code == 400 and "That was very fast" in hasty.text
    assert ">Too quick</textarea>" in hasty.text
    assert floors(site, article.id) == [1]


def test_too_many_comments_from_one_address_are_refused(site, client):
    site.app.comment_guard.limiter = MemoryRateLimit(limit=2, window=60)
    article = article_by_slug(site, "writing-in-markdown")
    assert post_comment(client, article, "one").status_code == 303
    assert post_comment(client, article, "two").status_code == 303
    third = post_comment(client, article, "three")
    assert third.status_code == 429 and "commenting too often" in third.text
    assert ">three</textarea>" in third.text


def test_moderated_comments_wait_for_approval(site, client):
    set_site(site, comment_mode="moderated")
    article = article_by_slug(site, "writing-in-markdown")
    response = post_comment(client, article, "Please approve me")
    assert response.status_code == 303 and "comment=pending" in response.headers["Location"]
    page = client.follow(response)
    assert "will appear once it is approved" in page.text
    assert "Please approve me" not in page.text.split('id="comment-form"')[0]


def test_closed_comments_have_no_form_and_refuse_posts(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    token = form_time(client, article_url(article))
    set_site(site, comment_mode="closed")
    html = client.get(article_url(article)).text
    assert "Comments are closed." in html and 'id="comment-form"' not in html
    response = client.post_form(
        f"/article/{article.id}/comment",
        {"author_name": "Late", "content": "Am I too late?", "form_time": token},
    )
    assert response.status_code == 403
    assert floors(site, article.id) == [1]


def test_comments_on_drafts_are_404(site, client):
    draft = article_by_slug(site, "passwords-with-argon2id")
    token = form_time(client, article_url(article_by_slug(site, "writing-in-markdown")))
    response = client.post_form(
        f"/article/{draft.id}/comment",
        {"author_name": "Snoop", "content": "first", "form_time": token},
    )
    assert response.status_code == 404


def test_fifty_comments_at_once_get_floors_one_to_fifty(site):
    article = article_by_slug(site, "passwords-with-argon2id")  # make a fresh published one

    def publish(session):
        from model import Article

        row = session.get(Article, article.id)
        row.status = "published"
        row.publish_at = row.created_at
        session.commit()

    site.service(publish)
    site.call(lambda: site.app.invalidate("all"))
    readers = [BlogClient(site.url) for _ in range(50)]
    tokens = [form_time(reader, f"/article/{article.id}/{article.slug}") for reader in readers]

    def post(index):
        return readers[index].post_form(
            f"/article/{article.id}/comment",
            {
                "author_name": f"Reader {index}",
                "content": f"Comment {index}",
                "form_time": tokens[index],
            },
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))
    assert [response.status_code for response in responses] == [303] * 50
    assert floors(site, article.id) == list(range(1, 51))
    # Written several to a transaction, each reader is still sent to the floor of its own words.
    stored = site.service(
        lambda s: dict(
            s.execute(
                select(Comment.floor, Comment.content).where(Comment.article_id == article.id)
            ).all()
        )
    )
    for index, response in enumerate(responses):
        floor = int(response.headers["Location"].rpartition("#floor-")[2])
        assert stored[floor] == f"Comment {index}"
    assert "50 comments" in page_text(readers[0].get(f"/article/{article.id}/{article.slug}").text)


def test_one_address_flooding_comment_posts_gets_429_from_every_instance(
    start_app, sqlite_url, redis_url
):
    from service.demo import load_demo_site

    first = start_app(sqlite_url, redis_urls=[redis_url], comment_attempts_per_minute=3)
    second = start_app(sqlite_url, redis_urls=[redis_url], comment_attempts_per_minute=3)
    first.service(load_demo_site)
    article = article_by_slug(first, "writing-in-markdown")
    junk = {"author_name": "Bot", "content": "buy now", "_xsrf": "", "form_time": ""}
    # Refused posts count too (each would draw the article again): three, on either instance.
    statuses = [
        BlogClient(app.url).post(f"/article/{article.id}/comment", data=junk).status_code
        for app in (first, second, first)
    ]
    assert statuses == [403, 403, 403]
    for app in (second, first):
        refused = BlogClient(app.url).post(f"/article/{article.id}/comment", data=junk)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "You are commenting too often" in page_text(refused.text)
        assert 'id="comment-form"' not in refused.text  # a short page: nothing was loaded


def test_readers_on_two_instances_posting_at_once_all_get_floors(
    start_app, database_url, redis_url
):
    # Each instance writes its batch of comments to the article; the two batches take turns
    # at the article's lock, and the second must see the floors the first just took.
    from service.demo import load_demo_site

    instances = [start_app(database_url, redis_urls=[redis_url]) for _ in range(2)]
    instances[0].service(load_demo_site)
    for live in instances:
        live.app.comment_guard.min_seconds = 0
        live.app.comment_guard.limiter = MemoryRateLimit(limit=1000, window=60)
        live.app.comment_guard.attempts = MemoryRateLimit(limit=1000, window=60)
    article = article_by_slug(instances[0], "writing-in-markdown")  # one comment already
    path = f"/article/{article.id}/{article.slug}"
    readers = [BlogClient(instances[n % 2].url) for n in range(60)]
    tokens = [form_time(reader, path) for reader in readers]

    def post(index):
        return readers[index].post_form(
            f"/article/{article.id}/comment",
            {"author_name": f"R{index}", "content": f"Words {index}", "form_time": tokens[index]},
        )

    with ThreadPoolExecutor(max_workers=60) as pool:
        responses = list(pool.map(post, range(60)))
    assert [response.status_code for response in responses] == [303] * 60
    assert floors(instances[0], article.id) == list(range(1, 62))
    for live in instances:
        assert "61 comments" in page_text(BlogClient(live.url).get(path).text)
