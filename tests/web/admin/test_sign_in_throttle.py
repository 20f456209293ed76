"""The sign-in throttle through HTTP: not raced, not dodged by respelling, not aimed at owners."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pytest

import extends.throttle
from commands import upgrade_database
from controller.devices import DEVICE_COOKIE
from extends.ratelimit import Rule
from service import users
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient, make_settings, page_text

WRONG = "definitely not the password"


def sign_in(client: BlogClient, address: str, password: str = ADMIN_PASSWORD, **form: str) -> Any:
    fields = {"username": ADMIN_USERNAME, "password": password, "next": "/admin", **form}
    return client.post_form("/auth/login", fields, headers={"X-Real-IP": address})


def strangers_guess(url: str, addresses: list[str], guesses: int = 5) -> None:
    for address in addresses:
        stranger = BlogClient(url)
        for _ in range(guesses):
            assert sign_in(stranger, address, WRONG).status_code in (400, 429)


def test_twenty_simultaneous_guesses_verify_at_most_five(start_app, sqlite_url, redis_url):
    live = start_app(sqlite_url, redis_urls=[redis_url])
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    clients = [BlogClient(live.url) for _ in range(20)]
    start = threading.Barrier(len(clients))
    statuses: Counter[int] = Counter()

    def guess(client: BlogClient) -> None:
        start.wait()
        statuses[sign_in(client, "198.51.100.1", WRONG).status_code] += 1

    threads = [threading.Thread(target=guess, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Only a reserved attempt reaches the hash: 5 verified (wrong), the rest refused.
    assert statuses == {400: 5, 429: 15}


@pytest.fixture
def mariadb_url(mariadb_server: Any, tmp_path: Any) -> str:
    url = mariadb_server.new_database_url()
    upgrade_database(make_settings(tmp_path, url))
    return url


def test_every_spelling_the_database_matches_shares_one_budget(start_app, mariadb_url):
    live = start_app(mariadb_url)
    admin = live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    spellings = ["Admin", "ADMIN", "ａｄｍｉｎ", "ádmin", "admin "]
    assert {live.service(users.user_id_for_name, name) for name in spellings} == {admin.id}
    client = BlogClient(live.url)
    for name in spellings:
        assert sign_in(client, "198.51.100.2", WRONG, username=name).status_code == 400
    assert sign_in(client, "198.51.100.2", username="AdMiN").status_code == 429


def test_a_device_that_signed_in_before_gets_in_while_strangers_hammer(live, admin):
    owner = BlogClient(live.url)
    first = sign_in(owner, "10.0.0.1")
    assert first.status_code == 302
    cookie = next(c for c in first.raw.headers.getlist("Set-Cookie") if c.startswith("device="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "expires=" in cookie.lower()
    owner.post_form("/auth/logout")
    # Strangers guess from elsewhere and from the owner's own address.
    strangers_guess(live.url, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], guesses=6)
    assert sign_in(BlogClient(live.url), "10.0.0.1").status_code == 429  # no device cookie
    assert sign_in(owner, "10.0.0.1").status_code == 302
    assert owner.cookies.get(DEVICE_COOKIE)


def test_the_owner_from_a_new_address_gets_in_and_is_told_of_the_attack(
    live, admin, monkeypatch, caplog
):
    # The real ceiling is 100 failures an hour; a lower one keeps the test quick.
    monkeypatch.setattr(extends.throttle, "CEILING_RULE", Rule(12, 3600, blocking=False))
    with caplog.at_level(logging.WARNING, logger="blog.auth"):
        strangers_guess(live.url, [f"10.0.1.{n}" for n in range(4)])
    warnings = [r.getMessage() for r in caplog.records if r.name == "blog.auth"]
    assert warnings == [f"sign-in ceiling reached for user {admin.id}"]
    assert sign_in(BlogClient(live.url), "10.0.2.1").status_code == 302


def test_a_refusal_says_how_long_to_wait_in_the_reader_s_language(live, admin):
    client = BlogClient(live.url)
    client.cookies.set("lang", "zh_CN", domain="127.0.0.1", path="/")
    for _ in range(5):
        assert sign_in(client, "10.0.3.1", WRONG).status_code == 400
    refused = sign_in(client, "10.0.3.1")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "失败次数过多，请等待 1 分钟后再试。" in page_text(refused.text)
    assert 'name="password"' in refused.text  # the form, ready for the next try


def test_an_unknown_name_is_answered_like_a_known_one(live, admin):
    client = BlogClient(live.url)
    answers = []
    for name in (ADMIN_USERNAME, "nobody-here"):
        for _ in range(5):
            answers.append(sign_in(client, "10.0.4.1", WRONG, username=name).status_code)
        answers.append(sign_in(client, "10.0.4.1", WRONG, username=name).status_code)
    assert answers == [400] * 5 + [429] + [400] * 5 + [429]
