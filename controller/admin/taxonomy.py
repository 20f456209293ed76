"""Categories, sources and tags (the menu: controller/admin/menus.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller.admin.base import AdminHandler, FormError
from controller.base import PageError
from model import Category, Source
from service import roles, taxonomy

NAV_SCOPES = ("nav", "articles", "pages")


def tag_scopes(article_ids: list[int]) -> list[str]:
    return ["articles", "pages", *(f"article:{article_id}" for article_id in article_ids)]


class TaxonomyPageHandler(AdminHandler):
    """GET lists one kind (categories or sources); POST creates one."""

    capability = roles.MANAGE_CONTENT

    kind = ""
    template = ""

    async def get(self, *item_id: str) -> None:
        if item_id:
            # An item's own URL only takes its form's POST; a visit shows the list it is in.
            self.redirect(f"/admin/{self.kind}")
            return
        await self.show()

    async def show(self, error: FormError | None = None, **typed: Any) -> None:
        page = await self.run(taxonomy.overview)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            self.template,
            admin_section=self.kind,
            page=page,
            error=error.message if error else None,
            typed=typed,
        )

    async def create(self, fn: Callable[..., object], names: list[str], message: str) -> None:
        """Create from the named form fields (passed in this order); refused input is kept."""
        typed = {name: self.get_argument(name, "") for name in names}
        try:
            await self.run_form(fn, *typed.values())
        except FormError as error:
            await self.show(error, **typed)
            return
        await self.done(message, f"/admin/{self.kind}", *NAV_SCOPES)


class CategoriesHandler(TaxonomyPageHandler):
    kind = "categories"
    template = "admin/categories.html"

    async def post(self) -> None:
        await self.create(
            taxonomy.create_category,
            ["name", "intro", "slug", "in_menu"],
            message=self._("The category is created."),
        )


class CategoryHandler(TaxonomyPageHandler):
    kind = "categories"
    template = "admin/categories.html"

    async def post(self, category_id: str) -> None:
        try:
            await self.run_form(
                taxonomy.update_category,
                int(category_id),
                self.get_argument("name", ""),
                self.get_argument("intro", ""),
                self.get_argument("slug", ""),
                self.get_argument("hidden", "") == "1",
            )
        except FormError as error:
            await self.show(error)
            return
        await self.done(self._("The category is saved."), "/admin/categories", *NAV_SCOPES)


class SourcesHandler(TaxonomyPageHandler):
    kind = "sources"
    template = "admin/sources.html"

    async def post(self) -> None:
        await self.create(
            taxonomy.create_source,
            ["code", "name"],
            message=self._("The source is created."),
        )


class SourceHandler(TaxonomyPageHandler):
    kind = "sources"
    template = "admin/sources.html"

    async def post(self, source_id: str) -> None:
        try:
            await self.run_form(
                taxonomy.rename_source, int(source_id), self.get_argument("name", "")
            )
        except FormError as error:
            await self.show(error)
            return
        await self.done(self._("The source is saved."), "/admin/sources", *NAV_SCOPES)


class DeleteWithMoveHandler(AdminHandler):
    """Deleting a category or source: GET asks where its articles go, POST does it."""

    capability = roles.MANAGE_CONTENT

    async def get(self, kind: str, item_id: str) -> None:
        page = await self.run(taxonomy.overview)
        rows: list[tuple[Category | Source, int]]
        if kind == "categories":
            rows = [(row.category, row.article_count) for row in page.categories]
        else:
            rows = [(source, page.source_counts.get(source.id, 0)) for source in page.sources]
        current = next(((item, n) for item, n in rows if item.id == int(item_id)), None)
        if current is None:
            raise PageError(404, self._("There is no such item."))
        self.render(
            "admin/taxonomy_delete.html",
            admin_section=kind,
            kind=kind,
            item=current[0],
            article_count=current[1],
            targets=[item for item, _ in rows if item.id != int(item_id)],
        )

    async def post(self, kind: str, item_id: str) -> None:
        fn = taxonomy.delete_category if kind == "categories" else taxonomy.delete_source
        moved = await self.run(fn, int(item_id), self.get_argument("move_to", ""))
        message = self._(
            "Deleted; %(count)d article moved.", "Deleted; %(count)d articles moved.", moved
        ) % {"count": moved}
        await self.done(message, f"/admin/{kind}", *NAV_SCOPES)


class MoveHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    async def post(self, kind: str, item_id: str) -> None:
        await self.run(taxonomy.move, kind, int(item_id), self.get_argument("direction", ""))
        await self.done(self._("The order is saved."), f"/admin/{kind}", *NAV_SCOPES)


class TagsHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    async def get(self) -> None:
        tags = await self.run(taxonomy.list_tags)
        self.render("admin/tags.html", admin_section="tags", tags=tags)


class TagHandler(AdminHandler):
    """POST /admin/tags/<id>/(rename|merge|delete)."""

    capability = roles.MANAGE_CONTENT

    async def post(self, tag_id: str, action: str) -> None:
        if action == "rename":
            touched = await self.run(
                taxonomy.rename_tag, int(tag_id), self.get_argument("name", "")
            )
            message = self._("The tag is renamed.")
        elif action == "merge":
            target = self.optional_int("target_id")
            touched = await self.run(taxonomy.merge_tags, int(tag_id), target or 0)
            message = self._("The tags are merged.")
        else:
            touched = await self.run(taxonomy.delete_tag, int(tag_id))
            message = self._("The tag is deleted.")
        await self.done(message, "/admin/tags", *tag_scopes(touched))


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/categories", CategoriesHandler),
    (rf"/admin/categories/{ID}", CategoryHandler),
    (r"/admin/sources", SourcesHandler),
    (rf"/admin/sources/{ID}", SourceHandler),
    (rf"/admin/(categories|sources)/{ID}/delete", DeleteWithMoveHandler),
    (rf"/admin/(categories|sources)/{ID}/move", MoveHandler),
    (r"/admin/tags", TagsHandler),
    (rf"/admin/tags/{ID}/(rename|merge|delete)", TagHandler),
]
