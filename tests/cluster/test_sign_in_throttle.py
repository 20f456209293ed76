"""One sign-in budget for the whole cluster: guesses spread over three instances share it."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME

WRONG = "definitely not the password"


def test_simultaneous_guesses_on_every_instance_share_one_budget(cluster):
    def attempt(port: int, address: str, password: str) -> int:
        response = cluster.direct(port).post_form(
            "/auth/login",
            {"username": ADMIN_USERNAME, "password": password, "next": "/admin"},
            headers={"X-Real-IP": address},
        )
        return response.status_code

    ports = cluster.ports * 5
    with ThreadPoolExecutor(len(ports)) as pool:
        statuses = Counter(pool.map(lambda port: attempt(port, "203.0.113.9", WRONG), ports))
    assert statuses == {400: 5, 429: 10}
    # The owner, from another address, is not locked out by them.
    assert attempt(cluster.ports[0], "198.51.100.9", ADMIN_PASSWORD) == 302
