"""Old WordPress and Ghost URLs of an imported site answer 301 through HTTP, from the
in-memory map."""

from pathlib import Path

from service import redirects
from service.importers.run import import_file

WXR = Path(__file__).resolve().parents[2] / "fixtures" / "wxr" / "wordpress6.xml"
UPLOADS = WXR.parent / "uploads"
GHOST = WXR.parents[1] / "ghost" / "ghost5.json"


def _import(live, path=WXR, uploads=UPLOADS):
    def run(session):
        return import_file(session, live.app.media, path, uploads=uploads, fetch_urls=False)

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


def test_every_old_ghost_url_form_answers_301(live, client):
    _import(live, GHOST, GHOST.parent / "images")
    post = client.get("/sailing-with-ghost/")
    assert post.status_code == 301
    target = post.headers["Location"]
    assert target.startswith("/article/") and target.endswith("/sailing-with-ghost")
    assert "The harbour was" in client.get(target).text
    # Ghost's other permalink form: /p/<uuid>/ (its preview and share link).
    preview = client.get("/p/0f4d1c2e-1111-4a2b-9c3d-000000000001/")
    assert (preview.status_code, preview.headers["Location"]) == (301, target)
    tag = client.get("/tag/sailing/")
    assert (tag.status_code, tag.headers["Location"]) == (301, "/tag/Sailing")
    assert "Sailing with Ghost" in client.get("/tag/Sailing").text
    assert client.get("/tag/sailing/rss/").headers["Location"] == "/tag/Sailing/feed.rss"
    author = client.get("/author/sam/")
    assert (author.status_code, author.headers["Location"]) == (301, "/author/sam")
    assert "Sailing with Ghost" in client.get("/author/sam").text
    assert client.get("/author/sam/rss/").headers["Location"] == "/author/sam/feed.rss"
    rss = client.get("/rss/")
    assert (rss.status_code, rss.headers["Location"]) == (301, "/feed.rss")
    assert client.get("/feed.rss").status_code == 200
    page = client.get("/uber-uns/")
    assert (page.status_code, page.headers["Location"]) == (301, "/uber-uns")
    assert client.get("/uber-uns").status_code == 200
