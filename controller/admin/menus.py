"""The site's menu: entries that are categories, pages or links, ordered and nested one level."""

from __future__ import annotations

import dataclasses

from controller.admin.base import AdminHandler, FormError
from service import menus, roles
from service.menus import MenuItemForm

# The header is cached under "nav"; every reader page shows it.
MENU_SCOPES = ("nav", "pages")
FORM_FIELDS = [field.name for field in dataclasses.fields(MenuItemForm)]


class MenuAdminHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    def read_form(self) -> MenuItemForm:
        return MenuItemForm(**{name: self.get_argument(name, "") for name in FORM_FIELDS})

    async def show(self, error: FormError | None = None, typed: MenuItemForm | None = None) -> None:
        page = await self.run(menus.menu_page)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/menus.html",
            admin_section="menus",
            page=page,
            error=error.message if error else None,
            typed=typed or MenuItemForm(),
        )


class MenusHandler(MenuAdminHandler):
    """GET the menu; POST adds an entry (refused input is shown again, kept)."""

    async def get(self) -> None:
        await self.show()

    async def post(self) -> None:
        form = self.read_form()
        try:
            await self.run_form(menus.create_item, form)
        except FormError as error:
            await self.show(error, form)
            return
        await self.done(self._("The menu entry is added."), "/admin/menus", *MENU_SCOPES)


class MenuItemHandler(MenuAdminHandler):
    async def get(self, item_id: str) -> None:
        # An entry's URL only takes its form's POST; a visit shows the menu.
        self.redirect("/admin/menus")

    async def post(self, item_id: str) -> None:
        try:
            await self.run_form(menus.update_item, int(item_id), self.read_form())
        except FormError as error:
            await self.show(error)
            return
        await self.done(self._("The menu entry is saved."), "/admin/menus", *MENU_SCOPES)


class MenuItemDeleteHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    async def post(self, item_id: str) -> None:
        await self.run(menus.delete_item, int(item_id))
        await self.done(self._("The menu entry is deleted."), "/admin/menus", *MENU_SCOPES)


class MenuItemMoveHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    async def post(self, item_id: str) -> None:
        await self.run(menus.move_item, int(item_id), self.get_argument("direction", ""))
        await self.done(self._("The order is saved."), "/admin/menus", *MENU_SCOPES)


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/menus", MenusHandler),
    (rf"/admin/menus/{ID}", MenuItemHandler),
    (rf"/admin/menus/{ID}/delete", MenuItemDeleteHandler),
    (rf"/admin/menus/{ID}/move", MenuItemMoveHandler),
]
