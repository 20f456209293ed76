"""Comment moderation changes what readers see; the author replies from the list."""

from __future__ import annotations

import re

from sqlalchemy import select

from model import Article, Comment
from tests.support.live import BlogClient, page_text
from tests.web.admin.conftest import save_article


def add_comment(live, article_id, text, status="visible", floor=None):
    def insert(session):
        next_floor = floor or 1 + len(
            session.scalars(select(Comment.id).where(Comment.article_id == article_id)).all()
        )
        comment = Comment(
            article_id=article_id,
            floor=next_floor,
            author_name="Reader",
            content=text,
            status=status,
        )
        session.add(comment)
        session.commit()
        return comment.id

    return live.service(insert)


def reader_text(live, article_id) -> str:
    return page_text(BlogClient(live.url).get(f"/article/{article_id}", allow_redirects=True).text)


def comment_count(live, article_id) -> int:
    return live.service(lambda s: s.get(Article, article_id).comment_count)


def test_moderation_changes_what_readers_see(live, signed_in):
    article_id = save_article(signed_in, title="Discussed", status="published")
    waiting = add_comment(live, article_id, "A comment waiting for approval", status="pending")
    shown = add_comment(live, article_id, "A comment everyone sees")
    assert "A comment everyone sees" in reader_text(live, article_id)  # warms the cache
    assert "A comment waiting for approval" not in reader_text(live, article_id)

    pending_list = page_text(signed_in.get("/admin/comments?status=pending").text)
    assert "A comment waiting for approval" in pending_list
    assert "A comment everyone sees" not in pending_list

    assert signed_in.post_form(f"/admin/comments/{waiting}/approve").status_code == 302
    assert "A comment waiting for approval" in reader_text(live, article_id)
    assert comment_count(live, article_id) == 2

    assert signed_in.post_form(f"/admin/comments/{shown}/hide").status_code == 302
    assert "A comment everyone sees" not in reader_text(live, article_id)
    assert comment_count(live, article_id) == 1

    assert signed_in.post_form(f"/admin/comments/{waiting}/spam").status_code == 302
    assert "A comment waiting for approval" not in reader_text(live, article_id)
    assert comment_count(live, article_id) == 0

    assert signed_in.post_form(f"/admin/comments/{shown}/delete").status_code == 302
    assert live.service(lambda s: s.get(Comment, shown)) is None


def test_bulk_actions(live, signed_in):
    article_id = save_article(signed_in, title="Busy", status="published")
    ids = [add_comment(live, article_id, f"Bulk comment {n}", status="pending") for n in range(3)]
    response = signed_in.post_form(
        "/admin/comments/bulk",
        {"ids": [str(i) for i in ids[:2]], "action": "approve", "next": "/admin/comments"},
    )
    assert response.status_code == 302
    text = reader_text(live, article_id)
    assert "Bulk comment 0" in text and "Bulk comment 1" in text and "Bulk comment 2" not in text
    signed_in.post_form("/admin/comments/bulk", {"ids": [str(i) for i in ids], "action": "delete"})
    assert live.service(lambda s: s.scalars(select(Comment.id)).all()) == []
    nothing = signed_in.post_form("/admin/comments/bulk", {"action": "delete"})
    assert nothing.status_code == 302  # nothing selected: back to the list with a message
    assert (
        signed_in.post_form("/admin/comments/bulk", {"ids": "1", "action": "burn"}).status_code
        == 400
    )


def test_the_author_replies_from_the_list(live, signed_in):
    article_id = save_article(signed_in, title="Questions", status="published")
    question = add_comment(live, article_id, "How does this work?", status="pending")
    response = signed_in.post_form(
        f"/admin/comments/{question}/reply", {"content": "Like this, thank you!"}
    )
    assert response.status_code == 302
    reply = live.service(lambda s: s.scalar(select(Comment).where(Comment.reply_to_id == question)))
    assert reply.is_author and reply.status == "visible" and reply.floor == 2
    assert reply.author_name == "Ada Admin"
    text = reader_text(live, article_id)
    # Replying approved the question too.
    assert "How does this work?" in text and "Like this, thank you!" in text


def test_filters_by_article(live, signed_in):
    first = save_article(signed_in, title="First", status="published")
    second = save_article(signed_in, title="Second", status="published")
    add_comment(live, first, "On the first")
    add_comment(live, second, "On the second")
    listing = page_text(signed_in.get(f"/admin/comments?article_id={first}").text)
    assert "On the first" in listing and "On the second" not in listing
    assert re.search(r"visible \(2\)", page_text(signed_in.get("/admin/comments").text))
