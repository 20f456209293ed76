"""Media sniffing, the dashboard chart, ordering and tag merging, the export snapshot."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from extends.storage import LocalMediaStore
from model import Category, Tag
from service import dashboard, editor, media, taxonomy, transfer
from service.errors import Invalid
from tests.web.admin.conftest import png_bytes


def test_images_are_recognised_by_their_bytes():
    assert media.sniff_image(png_bytes()) == media.PNG
    assert media.sniff_image(b"\xff\xd8\xff\xe0rest") == media.JPEG
    assert media.sniff_image(b"GIF89a...") == media.GIF
    assert media.sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == media.WEBP
    assert media.sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert media.sniff_image(b"%PDF-1.7") is None


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "a\\b.png", "..", "x\x00.png", ""])
def test_names_with_paths_are_refused(name):
    with pytest.raises(Invalid):
        media.check_original_name(name)


def test_chart_geometry():
    today = dt.date(2030, 1, 30)
    days = [dashboard.DayTraffic(today - dt.timedelta(days=29 - i), i * 10, i) for i in range(30)]
    chart = dashboard.build_chart(days)
    assert len(chart.pv_points.split()) == 30
    assert chart.grid[-1][1] == 500  # 290 views round up to a 500 axis
    assert chart.total_pv == sum(d.pv for d in days)
    assert chart.labels[0][1] == "01-01" and chart.labels[-1][1] == "01-30"
    empty = dashboard.build_chart([dashboard.DayTraffic(today, 0, 0)])
    assert empty.grid[-1][1] == 1  # no division by zero on a quiet site


def test_dashboard_fills_missing_days(db):
    today = dt.date(2030, 1, 30)
    board = dashboard.load_dashboard(db, today, today_pv=7, today_uv=3)
    assert len(board.chart.days) == 30
    assert board.chart.days[-1] == dashboard.DayTraffic(today, 7, 3)
    assert board.articles == 0 and board.pending_comments == 0


def test_move_up_and_down(db):
    for name in ("a", "b", "c"):
        taxonomy.create_category(db, name)

    def order():
        return list(db.scalars(select(Category.name).order_by(Category.sort_order)))

    c = db.scalar(select(Category.id).where(Category.name == "c"))
    taxonomy.move(db, "categories", c, "up")
    assert order() == ["a", "c", "b"]
    taxonomy.move(db, "categories", c, "up")
    taxonomy.move(db, "categories", c, "up")  # already first: stays
    assert order() == ["c", "a", "b"]


def test_merging_tags_moves_links_without_duplicates(db):
    one = editor.save_article(db, None, editor.ArticleForm(title="1", tags="old, new"))
    two = editor.save_article(db, None, editor.ArticleForm(title="2", tags="old"))
    old = db.scalar(select(Tag.id).where(Tag.name == "old"))
    new = db.scalar(select(Tag.id).where(Tag.name == "new"))
    touched = taxonomy.merge_tags(db, old, new)
    assert touched == sorted([one.id, two.id])
    rows = {row.tag.name: row.article_count for row in taxonomy.list_tags(db)}
    assert rows == {"new": 2}


def test_snapshot_round_trip_is_stable(db, tmp_path):
    editor.save_article(db, None, editor.ArticleForm(title="Kept", tags="t", status="published"))
    archive = transfer.export_site(db, LocalMediaStore(tmp_path))
    first = transfer.site_snapshot(db)
    assert transfer.is_empty(db) is False
    with pytest.raises(Exception, match="empty blog"):
        transfer.import_site(db, LocalMediaStore(tmp_path), archive)
    assert transfer.site_snapshot(db) == first
