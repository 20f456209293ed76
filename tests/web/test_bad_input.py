"""Numbers too large for any row: a clear 4xx, never a 500 (SQLite overflows past 64 bits)."""

import pytest

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/?page={HUGE}",
        f"/article/{HUGE}",
        f"/category/{HUGE}",
        f"/search?q=redis&page={HUGE}",
        f"/admin/articles?category_id={HUGE}",
        f"/admin/comments?article_id={HUGE}",
        f"/admin/articles?page={HUGE}",
    ],
)
def test_huge_numbers_in_urls_are_refused_cleanly(live, client, auth, path):
    assert auth.login().status_code == 302
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/menus", {"kind": "category", "category_id": HUGE, "parent_id": HUGE}),
        ("/admin/articles/new", {"title": "Huge", "content": "x", "category_id": HUGE}),
        ("/admin/comments", {"action": "approve", "ids": HUGE}),
    ],
)
def test_huge_ids_in_forms_are_refused_cleanly(live, client, auth, path, form):
    assert auth.login().status_code == 302
    response = client.post_form(path, form)
    assert 400 <= response.status_code < 500, (path, response.status_code)
