"""The dashboard: counts, 30 days of traffic, recent comments."""

from __future__ import annotations

from controller.admin.base import AdminHandler
from model.base import utcnow
from service import dashboard, roles

# A new article, a comment or a flush of the counters changes what the dashboard shows.
DASHBOARD_SCOPES = ("articles", "comments", "stats", "pages")


class DashboardHandler(AdminHandler):
    capability = roles.READ_ADMIN

    async def get(self) -> None:
        today = utcnow().date()
        data = await self.cached_run(
            f"dashboard:{today.isoformat()}", DASHBOARD_SCOPES, dashboard.dashboard_data, today
        )
        # Today's views the leader has not flushed yet still belong on the chart.
        live = await self.live_counts(today)
        board = dashboard.build_dashboard(data, live.page_views, live.unique_visitors)
        self.render("admin/dashboard.html", admin_section="dashboard", board=board)


routes = [(r"/admin/?", DashboardHandler)]
