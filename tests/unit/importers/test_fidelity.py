"""What an import keeps beyond the text: commenters' websites (and only web addresses),
pending and hidden comments back out as unapproved, several categories on one post (one
kept, the others tags, said in the summary), and the summary in the admin's language."""

from __future__ import annotations

import io
from pathlib import Path

import defusedxml.ElementTree as SafeTree
import tornado.locale
from sqlalchemy import select

from config import ROOT
from extends.i18n import load_translations
from extends.storage import LocalMediaStore
from model import Article, Category, Comment, Tag
from service.comments import commenter_url, visible_comments
from service.importers.run import import_file
from service.importers.wxr_export import export_wxr

CONTENT = Path(__file__).resolve().parents[2] / "fixtures" / "wxr" / "wordpress6-content.xml"
WP = "{http://wordpress.org/export/1.2/}"


def run(db, tmp_path, path=CONTENT, **options):
    options.setdefault("fetch_urls", False)
    return import_file(db, LocalMediaStore(tmp_path / "media"), path, **options)


def post(db) -> Article:
    return db.scalar(select(Article).where(Article.slug == "embeds-media-tables"))


def comments_by_author(db) -> dict[str, Comment]:
    return {comment.author_name: comment for comment in db.scalars(select(Comment))}


def exported(db) -> SafeTree.Element:
    out = io.StringIO()
    export_wxr(db, out, "https://new.example.com", "Rich Blog")
    return SafeTree.fromstring(out.getvalue().encode("utf-8"))


def test_only_web_addresses_are_commenters_websites():
    assert commenter_url(" https://dora.example.org/blog ") == "https://dora.example.org/blog"
    assert commenter_url("http://x.example") == "http://x.example"
    for refused in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x", ""):
        assert commenter_url(refused) == "", refused
    assert commenter_url("https://x.example/" + "a" * 300) == ""
    assert commenter_url('https://x.example/"onmouseover=x') == ""


def test_the_commenters_website_is_imported_shown_and_exported(db, tmp_path):
    run(db, tmp_path)
    comments = comments_by_author(db)
    assert comments["Dora Diver"].author_url == "https://dora.example.org/blog"
    assert comments["Eve"].author_url == ""  # javascript: is not a website
    (shown,) = visible_comments(db, post(db).id)  # Eve's reply waits for moderation
    assert shown.author_url == "https://dora.example.org/blog"
    urls = {
        node.findtext(f"{WP}comment_author"): node.findtext(f"{WP}comment_author_url")
        for node in exported(db).iter(f"{WP}comment")
    }
    assert urls == {"Dora Diver": "https://dora.example.org/blog", "Eve": ""}


def test_pending_and_hidden_comments_are_exported_as_unapproved(db, tmp_path):
    run(db, tmp_path)
    comments = comments_by_author(db)
    assert comments["Eve"].status == "pending"
    comments["Dora Diver"].status = "hidden"
    db.commit()
    approved = {
        node.findtext(f"{WP}comment_author"): node.findtext(f"{WP}comment_approved")
        for node in exported(db).iter(f"{WP}comment")
    }
    # "0" is WordPress's held for moderation; "trash" would throw them away on import.
    assert approved == {"Dora Diver": "0", "Eve": "0"}


def test_a_post_in_several_categories_keeps_one_and_says_so(db, tmp_path):
    summary = run(db, tmp_path)
    article = post(db)
    assert db.get(Category, article.category_id).name == "Travel"
    tags = set(db.scalars(select(Tag.name)))
    assert {"Video", "音乐"} <= tags
    (note,) = [line for line in summary.lines() if "several categories" in line]
    assert note == (
        "note: “Embeds, media and tables” had several categories; Inkwell gives an article "
        "one: it is in “Travel”, and “Video”, “音乐” became its tags"
    )


def test_the_summary_reads_in_chinese(db, tmp_path):
    load_translations(ROOT / "locale")
    chinese = tornado.locale.get("zh_CN").translate
    lines = run(db, tmp_path).lines(chinese)
    assert lines[0] == "已从 WordPress export wordpress6-content.xml 导入"
    assert any(line.startswith("新建：1 篇文章") for line in lines), lines
    assert any("原有多个分类" in line and "“Travel”" in line for line in lines), lines
    assert lines[-1] == "已分批提交；如果导入中途停止，再次运行即可继续。"
