"""Site settings as the author edits them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from model import SiteSetting
from model.site import COMMENT_MODES, NAVBAR_STYLES
from service import appearance, timezones
from service.errors import Invalid
from service.site import ensure_settings

LANGUAGES = ("auto", "en_US", "zh_CN")
MIN_PER_PAGE = 1
MAX_PER_PAGE = 100
MAX_TITLE = 100
MAX_SIGNATURE = 255


@dataclass
class SettingsForm:
    title: str = ""
    signature: str = ""
    navbar_style: str = "light"
    footer: str = ""
    posts_per_page: str = "10"
    comment_mode: str = "open"
    language: str = "auto"
    # A checkbox: "1" when ticked, "" when not.
    require_two_factor: str = ""
    # Time and look (service.timezones, service.appearance).
    time_zone: str = timezones.DEFAULT_ZONE
    accent_color: str = ""
    logo_url: str = ""
    custom_css: str = ""
    # Trusted code: only an administrator's form changes it (save_settings).
    header_code: str = ""
    footer_code: str = ""

    @classmethod
    def from_settings(cls, settings: SiteSetting) -> SettingsForm:
        return cls(
            title=settings.title,
            signature=settings.signature,
            navbar_style=settings.navbar_style,
            footer=settings.footer,
            posts_per_page=str(settings.posts_per_page),
            comment_mode=settings.comment_mode,
            language=settings.language,
            require_two_factor="1" if settings.require_two_factor else "",
            time_zone=settings.time_zone,
            accent_color=settings.accent_color,
            logo_url=settings.logo_url,
            custom_css=settings.custom_css,
            header_code=settings.header_code,
            footer_code=settings.footer_code,
        )


def save_settings(session: Session, form: SettingsForm, may_edit_code: bool = True) -> SiteSetting:
    """Validate and store the site settings (the one row, created when missing).

    The header/footer code runs on every reader page: unless ``may_edit_code`` (an
    administrator), what the form says about it is ignored and the stored code kept.
    """
    title = " ".join(form.title.split())
    if not title:
        raise Invalid("Please give the site a title.")
    if len(title) > MAX_TITLE:
        raise Invalid("The title must be at most {limit} characters long.", limit=MAX_TITLE)
    signature = form.signature.strip()
    if len(signature) > MAX_SIGNATURE:
        raise Invalid("The signature must be at most {limit} characters long.", limit=MAX_SIGNATURE)
    if form.navbar_style not in NAVBAR_STYLES:
        raise Invalid("Unknown navbar style.")
    if form.comment_mode not in COMMENT_MODES:
        raise Invalid("Unknown comment mode.")
    if form.language not in LANGUAGES:
        raise Invalid("Unknown language.")
    try:
        per_page = int(form.posts_per_page)
    except ValueError:
        per_page = 0
    if not MIN_PER_PAGE <= per_page <= MAX_PER_PAGE:
        raise Invalid(
            "Posts per page must be a number from {minimum} to {maximum}.",
            minimum=MIN_PER_PAGE,
            maximum=MAX_PER_PAGE,
        )
    time_zone = timezones.validate_zone(form.time_zone)
    accent_color = appearance.validate_accent(form.accent_color)
    logo_url = appearance.validate_logo_url(form.logo_url)
    custom_css = appearance.clean_css(form.custom_css)
    header_code = appearance.validate_code(form.header_code)
    footer_code = appearance.validate_code(form.footer_code)
    settings = ensure_settings(session)
    settings.time_zone = time_zone
    settings.accent_color = accent_color
    settings.logo_url = logo_url
    settings.custom_css = custom_css
    if may_edit_code:
        settings.header_code = header_code
        settings.footer_code = footer_code
    settings.title = title
    settings.signature = signature
    settings.navbar_style = form.navbar_style
    settings.footer = form.footer.strip()
    settings.posts_per_page = per_page
    settings.comment_mode = form.comment_mode
    settings.language = form.language
    settings.require_two_factor = form.require_two_factor == "1"
    session.commit()
    return settings
