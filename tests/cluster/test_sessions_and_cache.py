"""Sessions shared through Redis and caches kept coherent over pub/sub, seen through nginx."""

import re
import secrets

from tests.cluster.conftest import is_signed_in, poll, sign_in, upstream_ports


def test_signed_in_through_nginx_stays_signed_in_on_every_instance(cluster):
    client = cluster.client()
    sign_in(client)
    through_nginx = [is_signed_in(client) for _ in range(15)]
    direct = [is_signed_in(client, cluster.instance_url(port)) for port in cluster.ports * 5]
    assert all(through_nginx) and all(direct)
    assert len(through_nginx) + len(direct) == 30
    # nginx really spread the requests: each instance answered some of them.
    assert upstream_ports(cluster.nginx_access_log(), "GET /admin ") == set(cluster.ports)


def test_signing_out_on_one_instance_signs_out_everywhere(cluster):
    client = cluster.client()
    sign_in(client)
    old_cookie = client.cookies.get("sid")
    first, second, third = cluster.ports
    assert is_signed_in(client, cluster.instance_url(first))

    response = client.post_form(cluster.instance_url(second) + "/auth/logout")
    assert response.status_code in (302, 303)

    for port in (first, third):
        assert not is_signed_in(client, cluster.instance_url(port))
    # The id the browser had before is dead too, wherever it is presented.
    stale = cluster.direct(third)
    stale.cookies.set("sid", old_cookie, domain="127.0.0.1", path="/")
    assert not is_signed_in(stale)


def test_an_article_published_on_one_instance_is_served_by_the_others_within_a_second(cluster):
    title = f"Cluster news {secrets.token_hex(4)}"
    author, *readers = cluster.ports
    # The readers' instances have the home page cached before the publish.
    for port in readers:
        home = cluster.direct(port).get("/")
        assert home.status_code == 200 and title not in home.text
        assert title not in cluster.direct(port).get("/").text

    editor = cluster.direct(author)
    sign_in(editor)
    response = editor.post_form(
        "/admin/articles/new",
        {
            "title": title,
            "content": "Written on one instance, read on all of them.",
            "summary": "",
            "tags": "cluster",
            "status": "published",
        },
    )
    assert response.status_code in (302, 303), response.status_code
    article_id = int(re.search(r"/admin/articles/(\d+)/edit", response.headers["Location"])[1])

    for port in readers:
        reader = cluster.direct(port)
        assert poll(lambda reader=reader: title in reader.get("/").text, timeout=1.0)
        assert poll(
            lambda reader=reader: (
                title in reader.get(f"/article/{article_id}", allow_redirects=True).text
            ),
            timeout=1.0,
        )
