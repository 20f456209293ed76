"""The dashboard: counts, 30 days of traffic, recent comments."""

from __future__ import annotations

from controller.admin.base import AdminHandler
from model.base import utcnow
from service import dashboard, roles


class DashboardHandler(AdminHandler):
    capability = roles.READ_ADMIN

    async def get(self) -> None:
        today = utcnow().date()
        # Today's views the leader has not flushed yet still belong on the chart.
        live = await self.application.counters.today(today)
        board = await self.run(
            dashboard.load_dashboard, today, live.page_views, live.unique_visitors
        )
        self.render("admin/dashboard.html", admin_section="dashboard", board=board)


routes = [(r"/admin/?", DashboardHandler)]
