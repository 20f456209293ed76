"""The role matrix: every /admin route of main.route_table() × every role × GET and POST.

Each answer is checked against what the role may do (service.roles): the route's work
(200 or a redirect, or the form's own 400/405/409), 403 with nothing changed, or for an
anonymous visitor the sign-in page. A new admin route without a row here fails the test.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import pytest

import main
from extends.mailer import MailContent, compose
from model import ImportJob
from service import redirects, roles, users
from tests.support.live import BlogClient
from tests.web.admin.conftest import article_form, snapshot
from tests.web.admin.test_access import site  # noqa: F401  (the fixture: demo site + ids)

PASSWORD = "violet-harbour-lantern-42"

A, E, X, W = "all", "editors", "administrators", "writers"  # who may
ALLOWED = {
    A: set(roles.ROLES),
    E: {roles.ADMINISTRATOR, roles.EDITOR},
    X: {roles.ADMINISTRATOR},
    W: {roles.ADMINISTRATOR, roles.EDITOR, roles.AUTHOR},
}

# Route pattern → (who may GET, who may POST). The article in the URL is the
# administrator's: an author or contributor may not touch it. A route without GET
# answers 405 to whoever passes its gate.
MATRIX: dict[str, tuple[str, str]] = {
    r"/admin/account/notifications": (A, A),
    r"/admin/?": (A, A),
    r"/admin/articles": (A, A),
    r"/admin/articles/new": (A, A),
    r"/admin/articles/{article}/edit": (E, E),
    r"/admin/articles/{article}/revisions": (E, A),
    r"/admin/articles/{article}/revisions/{revision}": (E, A),
    # (No GET here: 405 for whoever passes the writers' gate.)
    r"/admin/articles/{article}/revisions/{revision}/restore": (A, E),
    r"/admin/articles/{article}/delete": (E, E),
    r"/admin/preview": (A, A),
    r"/admin/comments": (E, E),
    r"/admin/comments/bulk": (E, E),
    r"/admin/comments/{comment}/approve": (E, E),
    r"/admin/comments/{comment}/reply": (E, E),
    r"/admin/categories": (E, E),
    r"/admin/categories/{category}": (E, E),
    r"/admin/sources": (E, E),
    r"/admin/sources/{source}": (E, E),
    r"/admin/categories/{category}/delete": (E, E),
    r"/admin/categories/{category}/move": (E, E),
    r"/admin/tags": (E, E),
    r"/admin/tags/{tag}/rename": (E, E),
    r"/admin/menus": (E, E),
    r"/admin/menus/{menu}": (E, E),
    r"/admin/menus/{menu}/delete": (E, E),
    r"/admin/menus/{menu}/move": (E, E),
    r"/admin/pages": (E, E),
    r"/admin/pages/new": (E, E),
    r"/admin/pages/{page}/edit": (E, E),
    r"/admin/pages/{page}/delete": (E, E),
    r"/admin/slug": (A, A),
    r"/admin/widgets": (X, X),
    r"/admin/widgets/{widget}": (X, X),
    r"/admin/widgets/{widget}/move": (X, X),
    r"/admin/media": (W, W),
    # The administrator's upload: editors only. An author edits the details of their own
    # uploads (tests/web/admin/test_media.py); deleting stays with editors.
    r"/admin/media/{media}": (E, E),
    r"/admin/media/{media}/delete": (E, E),
    r"/admin/settings": (X, X),
    r"/admin/account": (A, A),
    r"/admin/account/password": (A, A),
    r"/admin/account/avatar": (A, A),
    r"/admin/account/two-factor": (A, A),
    r"/admin/account/two-factor/recovery-codes": (A, A),
    r"/admin/account/two-factor/disable": (A, A),
    r"/admin/export": (X, X),
    r"/admin/export/download": (X, X),
    r"/admin/export/import": (X, X),
    r"/admin/audit": (X, X),
    r"/admin/mail": (X, X),
    r"/admin/mail/{mail}/retry": (X, X),
    r"/admin/users": (X, X),
    r"/admin/users/{user}/role": (X, X),
    r"/admin/users/{user}/disable": (X, X),
    r"/admin/users/{user}/delete": (X, X),
    # Autosave: anyone who writes, for a new text; for a stored article, who may edit it.
    r"/admin/articles/new/autosave": (A, A),
    r"/admin/articles/{article}/autosave": (A, E),
    r"/admin/articles/new/autosave/discard": (A, A),
    r"/admin/articles/{article}/autosave/discard": (A, A),
    r"/admin/export/import/{job}": (X, X),
    r"/admin/redirects": (X, X),
    r"/admin/redirects/{redirect}/delete": (X, X),
}

# What a POST sends (a plausible form: the answer is the route's own, not a crash).
FORMS: dict[str, dict[str, str]] = {
    r"/admin/articles/new": article_form(title="Matrix", status="draft"),
    r"/admin/articles/{article}/edit": article_form(title="Matrix", status="published"),
    r"/admin/preview": {"content": "# hi"},
    r"/admin/comments/bulk": {"ids": "{comment}", "action": "approve"},
    r"/admin/comments/{comment}/reply": {"content": "hello"},
    r"/admin/categories": {"name": "Matrix"},
    r"/admin/categories/{category}": {"name": "Matrix"},
    r"/admin/categories/{category}/move": {"direction": "down"},
    r"/admin/sources": {"code": "matrix", "name": "Matrix"},
    r"/admin/sources/{source}": {"name": "Matrix"},
    r"/admin/tags/{tag}/rename": {"name": "Matrix"},
    r"/admin/menus": {"kind": "link", "label": "Matrix", "url": "/x"},
    r"/admin/menus/{menu}": {"label": "Matrix"},
    r"/admin/menus/{menu}/move": {"direction": "down"},
    r"/admin/pages/new": {**article_form(title="Matrix"), "slug": "matrix"},
    r"/admin/pages/{page}/edit": {**article_form(title="Matrix"), "slug": "matrix"},
    r"/admin/widgets": {"kind": "html", "title": "Matrix", "content": "<b>x</b>"},
    r"/admin/widgets/{widget}": {"title": "Matrix", "content": ""},
    r"/admin/widgets/{widget}/move": {"direction": "down"},
    r"/admin/settings": {"title": "Matrix", "posts_per_page": "5"},
    r"/admin/account": {"display_name": "Matrix", "email": ""},
    r"/admin/account/password": {"current_password": "x", "new_password": "y" * 12},
    r"/admin/articles/new/autosave": {"title": "Matrix", "content": "x"},
    r"/admin/articles/{article}/autosave": {"title": "Matrix", "content": "x"},
    r"/admin/redirects": {"old": "/old-matrix/", "target": "/"},
}

# Alternatives in a pattern: the one the matrix uses.
CHOICES = {
    "(approve|hide|spam|delete)": "approve",
    "(rename|merge|delete)": "rename",
    "(move|enable|disable|delete)": "move",
    "(disable|enable)": "disable",
}
ID = "([0-9]{1,18})"


def template_of(pattern: str) -> str:
    """``/admin/articles/([0-9]{1,18})/edit`` → ``/admin/articles/{article}/edit``."""
    path = pattern.replace("([0-9a-f]{32})", "{job}")
    path = path.replace("/admin/redirects/([0-9]{1,9})", "/admin/redirects/{redirect}")
    for group, choice in CHOICES.items():
        path = path.replace(group, choice)
    if path.startswith("/admin/(categories|sources)/"):
        path = path.replace("(categories|sources)", "categories")
    if "{1,18}" not in path and "([^/]+)" not in path:
        return path
    path = path.replace("([^/]+)", "{mail}")
    kinds = {
        "articles": ["article", "revision"],
        "comments": ["comment"],
        "categories": ["category"],
        "sources": ["source"],
        "tags": ["tag"],
        "menus": ["menu"],
        "pages": ["page"],
        "widgets": ["widget"],
        "media": ["media"],
        "mail": [],
        "users": ["user"],
    }[path.split("/")[2]]
    for kind in kinds:
        path = path.replace(ID, "{" + kind + "}", 1)
    return path


def admin_routes() -> list[str]:
    return [route[0] for route in main.route_table() if route[0].startswith("/admin")]


def test_every_admin_route_has_a_row_in_the_matrix():
    templates = [template_of(pattern) for pattern in admin_routes()]
    assert sorted(set(templates)) == sorted(MATRIX), "add new admin routes to MATRIX"


def make_user(live: Any, role: str) -> str:
    name = f"matrix-{role}"
    live.service(users.create_admin, name, PASSWORD, name.title(), "", role)
    return name


def sign_in(live: Any, username: str) -> BlogClient:
    client = BlogClient(live.url)
    response = client.post_form(
        "/auth/login", {"username": username, "password": PASSWORD, "next": "/admin"}
    )
    assert response.status_code == 302, response.text[-1000:]
    return client


def queued_mail_id(live: Any) -> str:
    content = MailContent(subject="Matrix", text="Hello.\n", html="<p>Hello.</p>")
    app = live.app
    envelope = compose(content, "reader@example.org", app.mailer.mail_from, "Blog", 0.0)
    return str(live.call(lambda: app.mailer.queue.enqueue(envelope)))


def import_job_id(live: Any) -> str:
    job_id = secrets.token_hex(16)

    def add(session: Any) -> None:
        session.add(ImportJob(id=job_id, status="done", done=1, total=1, report=""))
        session.commit()

    live.service(add)
    return job_id


def fill(template: str, ids: dict[str, Any]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("role", [None, *roles.ROLES])
def test_every_admin_route_for_every_role(live, site, admin, role):  # noqa: F811
    # The account the users routes name: another author.
    victim = live.service(users.create_admin, "matrix-victim", PASSWORD, "", "", roles.AUTHOR)
    ids = {
        **site,
        "mail": queued_mail_id(live),
        "user": victim.id,
        "job": import_job_id(live),
        "redirect": live.service(redirects.add_redirect, "/matrix-old/", "/").id,
    }
    if role is None:
        client = BlogClient(live.url)
    elif role == roles.ADMINISTRATOR:
        live.service(users.create_admin, "matrix-administrator", PASSWORD, "", "", role)
        client = sign_in(live, "matrix-administrator")
    else:
        client = sign_in(live, make_user(live, role))
    # Deleting comes last, so every other request still finds what its id names.
    templates = sorted(
        {template_of(pattern) for pattern in admin_routes()}, key=lambda t: t.endswith("/delete")
    )
    for method in ("GET", "POST"):
        for template in templates:
            path = fill(template, ids)
            who = MATRIX[template][0 if method == "GET" else 1]
            before = snapshot(live) if method == "POST" else None
            if method == "GET":
                response = client.get(path, allow_redirects=False)
            else:
                form = {name: fill(value, ids) for name, value in FORMS.get(template, {}).items()}
                response = client.post_form(path, form)
            where = f"{role} {method} {path}: {response.status_code}"
            if role is None:
                if method == "GET":
                    assert response.status_code == 302, where
                    assert urlsplit(response.headers["Location"]).path == "/auth/login", where
                else:
                    assert response.status_code == 403, where
                    assert snapshot(live) == before, where
            elif role in ALLOWED[who]:
                assert response.status_code in (200, 302, 400, 405, 409), where
                assert "Traceback" not in response.text, where
            else:
                assert response.status_code == 403, where
                if before is not None:
                    assert snapshot(live) == before, where
