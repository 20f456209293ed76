"""The deploy files: the committed nginx site file is the template's rendering; nginx accepts
what the launcher renders."""

import subprocess

from deploy.cluster import Cluster
from deploy.nginx_config import SITE_EXAMPLE, client_max_body_size, render_site_example
from deploy.state import ClusterState
from tests.support.servers import require_binary


def test_the_committed_site_file_is_the_rendered_template():
    assert SITE_EXAMPLE.read_text() == render_site_example()


def test_the_upload_limit_fits_through_nginx():
    assert client_max_body_size(5 * 1024 * 1024) == "6m"


def test_nginx_accepts_the_rendered_cluster_configuration(tmp_path):
    cluster = Cluster(tmp_path / "state", log=lambda message: None)
    for microcache in (False, True):
        state = ClusterState(
            ports=[18101, 18102],
            http_port=18180,
            redis_url="redis://127.0.0.1:1/0",
            database_url="sqlite:///unused",
            microcache=microcache,
            instance_env={"BLOG_DATA_DIR": str(tmp_path / "data")},
        )
        conf = cluster.render_nginx(state)
        text = (conf.parent / "inkwell.conf").read_text()
        assert "server 127.0.0.1:18101 max_fails=" in text
        assert ("proxy_cache inkwell_micro;" in text) is microcache
        require_binary("nginx")
        check = subprocess.run(
            cluster.nginx.command(conf, "-t", "-q"), capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr
