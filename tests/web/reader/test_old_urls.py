"""Old WordPress URLs of an imported site answer 301 through HTTP, from the in-memory map."""

from pathlib import Path

from service import redirects
from service.importers.run import import_file

WXR = Path(__file__).resolve().parents[2] / "fixtures" / "wxr" / "wordpress6.xml"
UPLOADS = WXR.parent / "uploads"


def _import(live):
    def run(session):
        return import_file(session, live.app.media, WXR, uploads=UPLOADS, fetch_urls=False)

    live.service(run)
    live.call(lambda: live.app.invalidate(redirects.SCOPE))


def test_every_old_url_form_answers_301(live, client):
    _import(live)
    article = client.get("/?p=11")
    assert article.status_code == 301
    target = article.headers["Location"]
    assert target.startswith("/article/") and target.endswith("/hello-tornado")
    assert client.get(target).status_code == 200
    for old in (
        "/2024/01/15/hello-tornado/",
        "/2024/01/hello-tornado/",
        "/hello-tornado/",
        "/hello-tornado",
    ):
        response = client.get(old)
        assert (response.status_code, response.headers["Location"]) == (301, target), old
    assert client.get("/?page_id=2").headers["Location"] == "/about"
    assert client.get("/about").status_code == 200
    assert client.get("/category/tech/python/").headers["Location"] == "/category/python"
    assert client.get("/tag/tornado/").headers["Location"] == "/tag/tornado"
    assert client.get("/feed/").headers["Location"] == "/feed.rss"
    assert client.get("/comments/feed/").headers["Location"] == "/feed.rss"
    image = client.get("/wp-content/uploads/2024/01/sunrise.png")
    assert image.status_code == 301 and image.headers["Location"].startswith("/media/")
    assert client.get("/?p=999").status_code == 200  # an unknown id: the home page
    assert client.get("/no/such/thing").status_code == 404


def test_a_new_redirect_is_served_once_the_bus_says_so(live, client):
    assert client.get("/old-place").status_code == 404

    def add(session):
        return redirects.add_redirect(session, "/old-place/", "/about-us")

    live.service(add)
    live.call(lambda: live.app.invalidate(redirects.SCOPE))
    response = client.get("/old-place")
    assert (response.status_code, response.headers["Location"]) == (301, "/about-us")
