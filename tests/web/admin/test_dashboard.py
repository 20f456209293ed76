"""The dashboard: counts, a traffic chart drawn on the server, recent comments; in Chinese too."""

from __future__ import annotations

import datetime as dt

from model import Comment, DailyStat
from model.base import utcnow
from tests.support.live import page_text
from tests.web.admin.conftest import save_article


def test_dashboard_counts_chart_and_recent_comments(live, signed_in):
    published = save_article(signed_in, title="Out there", status="published")
    save_article(signed_in, title="Still a draft")
    today = utcnow().date()

    def seed(session):
        session.add(DailyStat(day=today - dt.timedelta(days=1), pv=120, uv=45))
        session.add(DailyStat(day=today - dt.timedelta(days=40), pv=999999, uv=1))
        session.add(
            Comment(
                article_id=published,
                floor=1,
                author_name="Curious reader",
                content="Is this on?",
                status="pending",
            )
        )
        session.commit()

    live.service(seed)
    response = signed_in.get("/admin")
    assert response.status_code == 200
    text = page_text(response.text)
    assert "2 articles" in text and "1 drafts" in text and "1 comments pending" in text
    assert "<svg" in response.text and 'class="line-pv"' in response.text
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert f"{yesterday}: 120 views, 45 visitors" in response.text
    assert "999999" not in text  # older than 30 days
    assert "Curious reader" in text and "Is this on?" in text


def test_admin_speaks_chinese(live, signed_in):
    signed_in.cookies.set("lang", "zh_CN", domain="127.0.0.1", path="/")
    text = page_text(signed_in.get("/admin").text)
    assert "管理后台" in text and "最近 30 天的访问量" in text
    editor = page_text(signed_in.get("/admin/articles/new").text)
    assert "写文章" in editor and "正文（Markdown）" in editor
