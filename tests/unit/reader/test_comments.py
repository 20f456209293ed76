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


def test_a_batch_of_comments_gets_consecutive_floors_and_each_its_own_answer(db):
    # What the comment writer sends when several readers post to one article at once.
    load_demo_site(db)
    article = published_article(db)
    before = article.comment_count
    first = comments.post_comment(db, article.id, form("First"), "open", False, "h")
    requests = [
        comments.CommentRequest(form("Second"), "open", False, "a"),
        comments.CommentRequest(form(""), "open", False, "b"),  # empty: refused alone
        comments.CommentRequest(form("Answer", reply_to=first.id), "open", True, "c"),
        comments.CommentRequest(form("Lost", reply_to=999999), "open", False, "d"),
        comments.CommentRequest(form("Waits"), "moderated", False, "e"),
        comments.CommentRequest(form("Shut"), "closed", False, "f"),
        comments.CommentRequest(form("Third"), "open", False, "g"),
    ]
    outcomes = comments.post_comments(db, article.id, requests)
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "PostedComment", "Invalid", "PostedComment", "Invalid", "PostedComment", "Forbidden",
        "PostedComment",
    ]  # fmt: skip
    posted = [outcome for outcome in outcomes if isinstance(outcome, comments.PostedComment)]
    assert [p.floor for p in posted] == [3, 4, 5, 6]
    assert [p.pending for p in posted] == [False, False, True, False]
    assert posted[1].reply_to == first.id
    # Each answer names its own row.
    stored = {c.id: (c.floor, c.content, c.status) for c in db.scalars(select(Comment))}
    assert [stored[p.id] for p in posted] == [
        (3, "Second", "visible"), (4, "Answer", "visible"), (5, "Waits", "pending"),
        (6, "Third", "visible"),
    ]  # fmt: skip
    db.expire_all()
    # The refused reply and the waiting comment are not counted.
    assert db.get(Article, article.id).comment_count == before + 4
    assert comments.recount_comments(db, article.id) == before + 4


def test_a_batch_for_an_article_that_cannot_be_read_refuses_every_comment(db):
    load_demo_site(db)
    draft = db.scalar(select(Article).where(Article.status == "draft"))
    requests = [comments.CommentRequest(form(f"C{n}"), "open", False, "h") for n in range(3)]
    outcomes = comments.post_comments(db, draft.id, requests)
    assert all(isinstance(outcome, NotFound) for outcome in outcomes)
    assert db.scalar(select(Comment).where(Comment.article_id == draft.id)) is None
