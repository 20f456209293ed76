"""Who gets email about comments, on SQLite and MariaDB: double opt-in, never the replier,
unsubscribing stops every subscription of the address, authors' links cannot be forged."""

from model import Article, Comment
from service import notifications, users

KEY = notifications.notify_key("a cookie secret")


def add_comment(db, article, floor, email="", reply_to=None, status="visible"):
    comment = Comment(
        article_id=article.id, floor=floor, author_name=f"R{floor}", author_email=email,
        content=f"Comment {floor}", status=status, reply_to_id=reply_to,
    )  # fmt: skip
    db.add(comment)
    db.commit()
    return comment


def test_replies_reach_confirmed_subscribers_only_until_they_unsubscribe(db):
    article = Article(title="A", slug="a", content="x", status="published")
    db.add(article)
    db.commit()
    first = add_comment(db, article, 1, "Li@example.org")
    confirm = notifications.subscribe_replies(db, first.id, "Li@example.org", "zh_CN")
    assert confirm.kind == "confirm" and confirm.confirm_token.startswith("s-")
    reply = add_comment(db, article, 2, "bob@example.org", reply_to=first.id)
    assert notifications.reply_notices(db, [reply.id]) == []  # not confirmed yet
    assert notifications.confirm_subscription(db, confirm.confirm_token)
    (notice,) = notifications.reply_notices(db, [reply.id])
    assert (notice.email, notice.language, notice.floor) == ("Li@example.org", "zh_CN", 2)
    own = add_comment(db, article, 3, "li@EXAMPLE.org", reply_to=first.id)
    assert notifications.reply_notices(db, [own.id]) == []  # never about one's own reply
    assert notifications.latest_reply(db, first.id) == [own.id]
    assert notifications.unsubscribe(db, notice.unsubscribe_token, KEY)
    assert notifications.reply_notices(db, [reply.id]) == []
    assert not notifications.unsubscribe(db, notice.unsubscribe_token, KEY)


def test_moderation_notices_go_to_authors_who_asked_and_stop_with_their_link(db):
    ada = users.create_admin(db, "ada", "correct horse battery staple", "Ada", "ada@example.org")
    article = Article(title="A", slug="a", content="x", status="published")
    db.add(article)
    db.commit()
    waiting = add_comment(db, article, 1, status="pending")
    assert notifications.moderation_notices(db, waiting.id, KEY) == []
    notifications.set_comment_notifications(db, ada.id, True, "en_US")
    (notice,) = notifications.moderation_notices(db, waiting.id, KEY)
    assert notice.email == "ada@example.org" and notice.kind == "moderation"
    assert notifications.pending_among(db, [waiting.id, 999]) == [waiting.id]
    forged = notice.unsubscribe_token[:-2] + "AA"
    assert not notifications.unsubscribe(db, forged, KEY)
    assert not notifications.unsubscribe(
        db, notice.unsubscribe_token, notifications.notify_key("x")
    )
    assert notifications.unsubscribe(db, notice.unsubscribe_token, KEY)
    assert notifications.moderation_notices(db, waiting.id, KEY) == []


def test_held_notices_make_one_digest_per_address_when_due_and_unsubscribing_drops_them(db):
    import datetime as dt

    ada = users.create_admin(db, "ada", "correct horse battery staple", "Ada", "ada@example.org")
    article = Article(title="A", slug="a", content="x", status="published")
    db.add(article)
    db.commit()
    notifications.set_comment_notifications(db, ada.id, True, "zh_CN")
    now = dt.datetime(2026, 11, 22, 8, 0, 0)
    for floor in (1, 2, 3):
        waiting = add_comment(db, article, floor, status="pending")
        (notice,) = notifications.moderation_notices(db, waiting.id, KEY)
        notifications.hold_for_digest(db, notice, "http://blog", "Blog", now)
    assert notifications.due_digests(db, now - dt.timedelta(seconds=1)) == []
    (digest,) = notifications.due_digests(db, now)
    assert (digest.email, digest.language) == ("ada@example.org", "zh_CN")
    assert [item.floor for item in digest.items] == [1, 2, 3]
    notifications.forget_digest_items(db, digest.item_ids[:1])
    (left,) = notifications.due_digests(db, now)
    assert [item.floor for item in left.items] == [2, 3]
    assert notifications.unsubscribe(db, left.unsubscribe_token, KEY)
    assert notifications.due_digests(db, now) == []


def test_review_notices_go_to_reviewers_who_asked_and_stop_with_their_link(db):
    from service import roles

    ada = users.create_admin(db, "ada", "correct horse battery staple", "Ada", "ada@example.org")
    cole = users.create_admin(db, "cole", "correct horse battery staple", "Cole", "c@example.org",
                              roles.CONTRIBUTOR)  # fmt: skip
    article = Article(title="Draft", slug="d", content="Body", status="pending", author_id=cole.id)
    db.add(article)
    db.commit()
    assert notifications.review_notices(db, article.id, cole.id, KEY) == []
    notifications.set_review_notifications(db, ada.id, True, "zh_CN")
    notifications.set_review_notifications(db, cole.id, True, "en_US")  # not a reviewer
    (notice,) = notifications.review_notices(db, article.id, cole.id, KEY)
    assert (notice.email, notice.kind, notice.language) == ("ada@example.org", "review", "zh_CN")
    assert notice.article_url == f"/admin/articles/{article.id}/edit"
    assert notice.author_name == "Cole"
    moderation_token = notice.unsubscribe_token.replace("r", "a", 1)
    assert not notifications.unsubscribe(db, moderation_token, KEY)  # a token for one purpose
    assert notifications.unsubscribe(db, notice.unsubscribe_token, KEY)
    assert notifications.review_notices(db, article.id, cole.id, KEY) == []
