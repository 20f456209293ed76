"""The first pages through HTTP, on SQLite and MariaDB."""

from sqlalchemy import select

from model import Article
from service.demo import load_demo_site
from tests.support.live import page_text


def demo(live):
    live.service(load_demo_site)


def first_published(live):
    def query(session):
        return session.scalar(
            select(Article).where(Article.status == "published").order_by(Article.id)
        )

    return live.service(query)


def test_home_lists_published_articles(live, client):
    demo(live)
    response = client.get("/")
    assert response.status_code == 200
    text = page_text(response.text)
    assert "Welcome to Inkwell" in text
    assert "Passwords with argon2id" not in text  # the draft


def test_article_page_shows_rendered_markdown(live, client):
    demo(live)
    article = first_published(live)
    response = client.get(f"/article/{article.id}", allow_redirects=True)
    assert response.status_code == 200
    assert article.title in response.text
    assert "<h2" in response.text  # Markdown headings became HTML


def test_missing_article_is_a_404_page(live, client):
    response = client.get("/article/999999")
    assert response.status_code == 404
    assert "404" in response.text and "Traceback" not in response.text


def test_unknown_url_is_a_404_page(live, client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<html" in response.text


def test_healthz_reports_the_database(live, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["instance"] == live.settings.instance_id


def test_forged_session_cookie_is_an_anonymous_visit(live, client):
    client.cookies.set("sid", "2|1:0|10:1700000000|3:sid|8:Zm9yZ2Vk|deadbeef", domain="127.0.0.1")
    response = client.get("/")
    assert response.status_code == 200
    client.cookies.set("sid", "not-a-signed-value", domain="127.0.0.1")
    assert client.get("/").status_code == 200


def test_post_without_xsrf_changes_nothing(live, client):
    response = client.post("/", data={"x": "1"})
    assert response.status_code == 403


def test_every_page_shows_the_site_navigation(live, client):
    demo(live)
    for path, status in (("/no/such/page", 404), ("/auth/login", 200), ("/auth/qr", 200)):
        response = client.get(path)
        assert response.status_code == status
        text = page_text(response.text)
        assert "Guides" in text and "Engineering" in text, path  # the sample site's menus
