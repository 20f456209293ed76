"""Graceful shutdown (contract 7): stop accepting, /healthz 503, in-flight work finishes."""

import http.client
import json
import threading
import time


def get(connection, path):
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def test_shutdown_reports_stopping_and_waits_for_requests_in_flight(start_app, sqlite_url):
    live = start_app(sqlite_url)
    app, server = live.app, live.server
    kept_alive = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    assert get(kept_alive, "/healthz")[0] == 200

    app.in_flight += 1  # a request still being served
    stopping = threading.Thread(target=lambda: live.call(lambda: app.shutdown(server)))
    stopping.start()
    deadline = time.monotonic() + 5
    while not app.shutting_down and time.monotonic() < deadline:
        time.sleep(0.01)

    status, body = get(kept_alive, "/healthz")
    assert status == 503 and json.loads(body)["status"] == "stopping"
    fresh = http.client.HTTPConnection("127.0.0.1", live.port, timeout=2)
    try:
        fresh.request("GET", "/healthz")
        fresh.getresponse()
        accepted = True
    except OSError:
        accepted = False
    assert not accepted
    assert stopping.is_alive()  # still waiting for the request in flight

    app.in_flight -= 1
    stopping.join(15)
    assert not stopping.is_alive()
    live.app = None  # already shut down
