"""/admin/redirects: the table an import filled, add, test and remove a redirect over HTTP."""

from pathlib import Path

from service.importers.run import import_file
from tests.support.live import page_text

WXR = Path(__file__).resolve().parents[2] / "fixtures" / "wxr" / "wordpress6.xml"


def test_an_author_sees_adds_tests_and_removes_redirects(live, client, auth):
    live.service(lambda session: import_file(session, None, WXR, fetch_urls=False))
    auth.login()
    page = client.get("/admin/redirects")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "/?p=11" in text and "/2024/01/15/hello-tornado" in text

    tested = page_text(client.get("/admin/redirects?test=/2024/01/hello-tornado/").text)
    assert "/2024/01/hello-tornado/ leads to /article/" in tested

    added = client.post_form("/admin/redirects", {"old": "/old-news/", "target": "/about"})
    assert added.status_code == 302
    assert client.get("/old-news/").headers["Location"] == "/about"

    refused = client.post_form("/admin/redirects", {"old": "/x", "target": "https://evil.example"})
    assert refused.status_code == 400
    assert "must be a path on this site" in page_text(refused.text)

    row = next(r for r in live.service(_rows) if r[1] == "/old-news")
    removed = client.post_form(f"/admin/redirects/{row[0]}/delete")
    assert removed.status_code == 302
    assert client.get("/old-news/").status_code == 301  # now only the trailing-slash rule
    assert client.get("/old-news").status_code == 404


def _rows(session):
    from service import redirects

    return [(r.id, r.path) for r in redirects.list_redirects(session)]


def test_redirects_admin_needs_a_signed_in_user(client):
    response = client.get("/admin/redirects")
    assert response.status_code in (302, 303)
