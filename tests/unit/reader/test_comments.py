"""Comment text rendering, identicons and the floor numbering service."""

import pytest
from sqlalchemy import select

from model import Article, Comment
from service import comments
from service.demo import load_demo_site
from service.errors import Forbidden, Invalid, NotFound
from service.identicon import identicon_svg


def test_plain_text_becomes_paragraphs_and_links():
    html = comments.comment_html("Hi <b>there</b>\nsee https://example.org/x.\n\nBye")
    assert html == (
        "<p>Hi &lt;b&gt;there&lt;/b&gt;<br>see "
        '<a href="https://example.org/x" rel="nofollow ugc noopener">https://example.org/x</a>.'
        "</p><p>Bye</p>"
    )


def test_script_urls_never_become_links():
    html = comments.comment_html('javascript:alert(1) <a href="javascript:x">y</a>')
    assert "<a" not in html.replace("&lt;a", "")


def test_identicons_are_stable_symmetric_svg():
    first = identicon_svg("Mei.Lin@example.com ")
    assert first == identicon_svg("mei.lin@example.com")
    assert first != identicon_svg("someone@example.com")
    assert first.startswith("<svg") and "http" not in first.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def form(content="Nice", name="Reader", reply_to=None):
    return comments.CommentForm(name, "reader@example.com", content, reply_to)


def published_article(db):
    return db.scalar(select(Article).where(Article.slug == "writing-in-markdown"))


def test_floors_follow_each_other_and_counts_update(db):
    load_demo_site(db)
    article = published_article(db)
    before = article.comment_count
    posted = comments.post_comment(db, article.id, form(), "open", False, "hash")
    again = comments.post_comment(db, article.id, form(reply_to=posted.id), "open", True, "h")
    assert (posted.floor, again.floor) == (2, 3)
    db.expire_all()
    assert db.get(Article, article.id).comment_count == before + 2
    shown = comments.visible_comments(db, article.id)
    assert [c.floor for c in shown] == [1, 2, 3]
    assert shown[2].reply_to_floor == 2 and shown[2].is_author


def test_moderated_comments_are_pending_and_not_counted(db):
    load_demo_site(db)
    article = published_article(db)
    posted = comments.post_comment(db, article.id, form(), "moderated", False, "h")
    assert posted.pending
    assert db.scalar(select(Comment.status).where(Comment.id == posted.id)) == "pending"
    assert [c.floor for c in comments.visible_comments(db, article.id)] == [1]
    assert comments.recount_comments(db, article.id) == 1


@pytest.mark.parametrize(
    ("fields", "mode", "error"),
    [
        ({"name": " "}, "open", Invalid),
        ({"content": ""}, "open", Invalid),
        ({"content": "x" * 5001}, "open", Invalid),
        ({"reply_to": 999999}, "open", Invalid),
        ({}, "closed", Forbidden),
    ],
)
def test_bad_comments_are_refused(db, fields, mode, error):
    load_demo_site(db)
    article = published_article(db)
    with pytest.raises(error):
        comments.post_comment(db, article.id, form(**fields), mode, False, "h")


def test_no_comments_on_drafts(db):
    load_demo_site(db)
    draft = db.scalar(select(Article).where(Article.status == "draft"))
    with pytest.raises(NotFound):
        comments.post_comment(db, draft.id, form(), "open", False, "h")
