"""Sidebar widgets: the author's HTML blocks and the built-in kinds."""

from __future__ import annotations

from controller.admin.base import AdminHandler, FormError
from service import widgets_admin

SCOPES = ("widgets", "pages")


class WidgetsHandler(AdminHandler):
    async def get(self) -> None:
        await self.show()

    async def show(self, error: FormError | None = None, **typed: str) -> None:
        widgets = await self.run(widgets_admin.list_widgets)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/widgets.html",
            admin_section="widgets",
            widgets=widgets,
            builtin_kinds=widgets_admin.BUILTIN_KINDS,
            error=error.message if error else None,
            typed=typed,
        )

    async def post(self) -> None:
        """Add a widget: kind "html" with title and content, or a built-in kind."""
        typed = {name: self.get_argument(name, "") for name in ("kind", "title", "content")}
        try:
            await self.run_form(
                widgets_admin.create_widget, typed["kind"], typed["title"], typed["content"]
            )
        except FormError as error:
            await self.show(error, **typed)
            return
        await self.done(self._("The widget is added."), "/admin/widgets", *SCOPES)


class WidgetHandler(AdminHandler):
    async def get(self, widget_id: str) -> None:
        widget = await self.run(widgets_admin.get_widget, int(widget_id))
        self.render("admin/widget_edit.html", admin_section="widgets", widget=widget, typed={})

    async def post(self, widget_id: str) -> None:
        typed = {name: self.get_argument(name, "") for name in ("title", "content")}
        enabled = self.get_argument("enabled", "") == "1"
        try:
            await self.run_form(
                widgets_admin.update_widget,
                int(widget_id),
                typed["title"],
                typed["content"],
                enabled,
            )
        except FormError as error:
            widget = await self.run(widgets_admin.get_widget, int(widget_id))
            self.set_status(error.status_code)
            self.render(
                "admin/widget_edit.html",
                admin_section="widgets",
                widget=widget,
                typed=typed,
                error=error.message,
            )
            return
        await self.done(self._("The widget is saved."), "/admin/widgets", *SCOPES)


class WidgetActionHandler(AdminHandler):
    """POST /admin/widgets/<id>/(move|enable|disable|delete)."""

    async def post(self, widget_id: str, action: str) -> None:
        if action == "move":
            await self.run(
                widgets_admin.move_widget, int(widget_id), self.get_argument("direction", "")
            )
            message = self._("The order is saved.")
        elif action in ("enable", "disable"):
            await self.run(widgets_admin.set_enabled, int(widget_id), action == "enable")
            message = (
                self._("The widget is shown.")
                if action == "enable"
                else self._("The widget is hidden.")
            )
        else:
            await self.run(widgets_admin.delete_widget, int(widget_id))
            message = self._("The widget is deleted.")
        await self.done(message, "/admin/widgets", *SCOPES)


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/widgets", WidgetsHandler),
    (rf"/admin/widgets/{ID}", WidgetHandler),
    (rf"/admin/widgets/{ID}/(move|enable|disable|delete)", WidgetActionHandler),
]
