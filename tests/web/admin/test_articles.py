"""Writing through HTTP: draft → preview → publish → edit (revision) → restore → delete,
scheduled publishing, and an editor that never loses what was typed."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from model import Article, ArticleRevision, Comment, Tag, article_tags
from model.base import utcnow
from tests.support.live import BlogClient, page_text
from tests.web.admin.conftest import article_form, save_article


def reader_sees(live, article_id: int, text: str) -> bool:
    """A fresh anonymous reader: is ``text`` on the home page and the article's page?"""
    reader = BlogClient(live.url)
    home = reader.get("/")
    page = reader.get(f"/article/{article_id}", allow_redirects=True)
    on_home = text in page_text(home.text)
    if page.status_code == 404:
        return False
    assert page.status_code == 200
    assert on_home, "the article page shows it but the home page does not"
    return text in page_text(page.text)


def test_article_life_cycle(live, signed_in):
    # A draft: saved, not on the site.
    article_id = save_article(
        signed_in, title="Life cycle", content="First *version*.", tags="alpha, beta"
    )
    editor_page = signed_in.get(f"/admin/articles/{article_id}/edit")
    assert "The draft is saved." in editor_page.text
    assert "First *version*." in editor_page.text
    assert not reader_sees(live, article_id, "Life cycle")

    # The preview renders with the reader's renderer.
    preview = signed_in.post_form(
        "/admin/preview",
        {"content": "## Heading\n\nSome **bold**"},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert preview.status_code == 200
    assert "<strong>bold</strong>" in preview.text and "<h2" in preview.text
    assert "<html" not in preview.text

    # Published: readers see it at once.
    save_article(
        signed_in, article_id, title="Life cycle", content="First *version*.", status="published"
    )
    assert reader_sees(live, article_id, "Life cycle")
    assert (
        "<em>version</em>"
        in BlogClient(live.url).get(f"/article/{article_id}", allow_redirects=True).text
    )

    # Edited: the reader sees the new text; the old one is kept as a revision.
    save_article(
        signed_in,
        article_id,
        title="Life cycle, edited",
        content="Second text.",
        status="published",
    )
    assert reader_sees(live, article_id, "Life cycle, edited")
    assert (
        "Second text."
        in BlogClient(live.url).get(f"/article/{article_id}", allow_redirects=True).text
    )
    revisions = signed_in.get(f"/admin/articles/{article_id}/revisions")
    revision_ids = re.findall(
        rf"/admin/articles/{article_id}/revisions/([0-9]+)/restore", revisions.text
    )
    assert len(revision_ids) == 1
    diff = signed_in.get(f"/admin/articles/{article_id}/revisions/{revision_ids[0]}")
    assert "First *version*." in diff.text and "Second text." in diff.text

    # Restored: the first text is back for readers, and the edited one became a revision.
    restored = signed_in.post_form(
        f"/admin/articles/{article_id}/revisions/{revision_ids[0]}/restore"
    )
    assert restored.status_code == 302
    assert reader_sees(live, article_id, "Life cycle")
    reader_page = BlogClient(live.url).get(f"/article/{article_id}", allow_redirects=True)
    assert "<em>version</em>" in reader_page.text and "Second text." not in reader_page.text
    titles = live.service(
        lambda s: list(
            s.scalars(select(ArticleRevision.title).where(ArticleRevision.article_id == article_id))
        )
    )
    assert sorted(titles) == ["Life cycle", "Life cycle, edited"]

    # Deleted after confirmation: gone for readers, with its tag links and comments.
    confirm = signed_in.get(f"/admin/articles/{article_id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    live.service(
        lambda s: (
            s.add(Comment(article_id=article_id, floor=1, author_name="R", content="c")),
            s.commit(),
        )
    )
    deleted = signed_in.post_form(f"/admin/articles/{article_id}/delete")
    assert deleted.status_code == 302
    assert (
        BlogClient(live.url).get(f"/article/{article_id}", allow_redirects=True).status_code == 404
    )
    assert "Life cycle" not in page_text(BlogClient(live.url).get("/").text)

    def leftovers(session):
        return (
            session.get(Article, article_id),
            session.scalars(select(Comment).where(Comment.article_id == article_id)).all(),
            session.execute(
                select(article_tags).where(article_tags.c.article_id == article_id)
            ).all(),
        )

    assert leftovers_are_empty(live.service(leftovers))
    assert sorted(live.service(lambda s: list(s.scalars(select(Tag.name))))) == ["alpha", "beta"]


def leftovers_are_empty(found) -> bool:
    article, comments, links = found
    return article is None and not comments and not links


def test_scheduled_article_appears_once_the_job_runs(live, signed_in):
    soon = (utcnow() + dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    article_id = save_article(
        signed_in, title="From the future", status="scheduled", publish_at=soon
    )
    assert not reader_sees(live, article_id, "From the future")
    assert live.service(lambda s: s.get(Article, article_id).status) == "scheduled"

    def time_has_come(session):
        article = session.get(Article, article_id)
        article.publish_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()

    live.service(time_has_come)
    live.call(lambda: live.app.jobs.run_now("publish-scheduled"))
    assert live.service(lambda s: s.get(Article, article_id).status) == "published"
    assert reader_sees(live, article_id, "From the future")


def test_a_time_with_a_zone_is_stored_in_utc(live, signed_in):
    article_id = save_article(
        signed_in, title="Zoned", status="scheduled", publish_at="2099-01-01T08:00:00+08:00"
    )
    stored = live.service(lambda s: s.get(Article, article_id).publish_at)
    assert stored == dt.datetime(2099, 1, 1, 0, 0)


def test_refused_input_keeps_everything_typed(live, signed_in):
    long_text = "Paragraph one.\n\nParagraph *two* with <angle> & ampersand."
    cases = [
        {"title": "", "content": long_text},
        {"title": "Bad time", "content": long_text, "status": "scheduled", "publish_at": "soon"},
        {"title": "No time", "content": long_text, "status": "scheduled"},
        {"title": "Bad category", "content": long_text, "category_id": "999999"},
        {"title": "Bad status", "content": long_text, "status": "archived"},
    ]
    for fields in cases:
        response = signed_in.post_form(
            "/admin/articles/new", article_form(tags="kept, tags", **fields)
        )
        assert response.status_code == 400, fields
        assert "Paragraph *two* with &lt;angle&gt; &amp; ampersand." in response.text
        assert 'value="kept, tags"' in response.text
        assert 'class="flash flash-error"' in response.text
    assert live.service(lambda s: s.scalar(select(Article.id))) is None


def test_article_list_filters(live, signed_in):
    save_article(signed_in, title="Draft about tornado", tags="python")
    save_article(signed_in, title="Published about redis", status="published", tags="databases")
    drafts = page_text(signed_in.get("/admin/articles?status=draft").text)
    assert "Draft about tornado" in drafts and "Published about redis" not in drafts
    tagged = page_text(signed_in.get("/admin/articles?tag=databases").text)
    assert "Published about redis" in tagged and "Draft about tornado" not in tagged
    searched = page_text(signed_in.get("/admin/articles?q=tornado").text)
    assert "Draft about tornado" in searched and "Published about redis" not in searched
    assert signed_in.get("/admin/articles?page=99").status_code == 404
    assert signed_in.get("/admin/articles?page=x").status_code == 404


def test_preview_without_javascript_is_a_whole_page(live, signed_in):
    response = signed_in.post_form("/admin/preview", {"title": "Peek", "content": "*hello*"})
    assert response.status_code == 200
    assert "<em>hello</em>" in response.text and "Peek" in response.text


def test_missing_article_is_a_404(live, signed_in):
    assert signed_in.get("/admin/articles/999999/edit").status_code == 404
    assert signed_in.post_form("/admin/articles/999999/delete").status_code == 404
