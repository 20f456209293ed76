"""The admin's import page takes a WordPress or Ghost export and imports it in the background."""

import re
import time
from pathlib import Path

from tests.support.live import page_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def upload(client, path):
    return client.post(
        "/admin/export/import",
        data={"_xsrf": client.xsrf_token},
        files={"archive": (path.name, path.read_bytes(), "application/octet-stream")},
    )


def wait_for_the_end(client, url):
    for _ in range(300):
        page = client.get(url)
        assert page.status_code == 200
        if "data-import-running" not in page.text:
            return page_text(page.text)
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def test_a_wordpress_export_is_imported_in_the_background(live, client, auth):
    auth.login()
    started = upload(client, FIXTURES / "wxr" / "wordpress6.xml")
    assert started.status_code == 302
    progress_url = started.headers["Location"]
    assert re.fullmatch(r"/admin/export/import/[0-9a-f]{32}", progress_url)
    report = wait_for_the_end(client, progress_url)
    assert "The import is finished." in report
    assert "created: 4 articles" in report and "skipped: 1 comments marked spam" in report
    home = page_text(client.get("/").text)
    assert "Hello, Tornado" in home
    assert client.get("/?p=11").status_code == 301


def test_a_ghost_export_and_a_hostile_file_through_the_admin(live, client, auth, tmp_path):
    auth.login()
    started = upload(client, FIXTURES / "ghost" / "ghost5.json")
    report = wait_for_the_end(client, started.headers["Location"])
    assert "The import is finished." in report and "created: 3 articles" in report
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<rss><channel><item><title>&b;</title></item></channel></rss>"
    )
    refused = wait_for_the_end(client, upload(client, bomb).headers["Location"])
    assert "The import failed." in refused and "DTD" in refused
    assert "Nothing was written" in refused


def test_an_unknown_import_is_a_404(live, client, auth):
    auth.login()
    assert client.get("/admin/export/import/" + "0" * 32).status_code == 404


def test_the_report_reads_in_the_admins_language(live, client, auth, tmp_path):
    auth.login()
    assert client.get("/lang/zh_CN?next=/admin/export", allow_redirects=False).status_code == 302
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes((FIXTURES / "wxr" / "wordpress6.xml").read_bytes()[:3000])
    refused = wait_for_the_end(client, upload(client, truncated).headers["Location"])
    assert "导入失败。" in refused
    assert "该文件不是格式正确的 XML（被截断或已损坏）" in refused
    assert "未写入任何内容：博客保持原样。" in refused
    done = wait_for_the_end(
        client, upload(client, FIXTURES / "wxr" / "wordpress6-content.xml").headers["Location"]
    )
    assert "导入已完成。" in done and "新建：" in done and "1 篇文章" in done
    assert "“Embeds, media and tables”原有多个分类" in done and "改为它的标签" in done


def test_an_imported_commenters_name_links_to_their_website(live, client, auth):
    auth.login()
    started = upload(client, FIXTURES / "wxr" / "wordpress6-content.xml")
    assert "The import is finished." in wait_for_the_end(client, started.headers["Location"])
    article = client.get("/embeds-media-tables/")
    assert article.status_code == 301
    page = client.get(article.headers["Location"]).text
    link = re.search(r'<a class="comment-author"[^>]*>Dora Diver</a>', page)
    assert link, "the commenter's name is a link"
    assert 'href="https://dora.example.org/blog"' in link.group(0)
    assert 'rel="nofollow ugc noopener"' in link.group(0)
    # The embeds are on the page, and the page's policy lets only those players frame.
    frames = re.findall(r"<iframe[^>]*>", page)
    assert [frame for frame in frames if "youtube-nocookie.com/embed/dQw4w9WgXcQ" in frame]
    assert all("sandbox=" in frame for frame in frames)
    assert "maps.example.net" not in "".join(frames)
