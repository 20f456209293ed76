"""Site settings."""

from __future__ import annotations

from sqlalchemy.orm import Session

from model import SiteSetting

SETTINGS_ID = 1


def get_settings(session: Session) -> SiteSetting:
    """The site settings row; defaults when the site has not been configured yet."""
    settings = session.get(SiteSetting, SETTINGS_ID)
    return settings if settings is not None else default_settings()


def default_settings() -> SiteSetting:
    """Settings of a site nobody has configured (also used by error pages)."""
    return SiteSetting(
        id=SETTINGS_ID,
        title="Inkwell",
        signature="",
        navbar_style="light",
        footer="",
        posts_per_page=10,
        comment_mode="open",
        language="auto",
        require_two_factor=False,
        time_zone="UTC",
        accent_color="",
        logo_url="",
        custom_css="",
        header_code="",
        footer_code="",
    )


def ensure_settings(session: Session) -> SiteSetting:
    """The settings row, created with defaults when missing."""
    settings = session.get(SiteSetting, SETTINGS_ID)
    if settings is None:
        settings = default_settings()
        session.add(settings)
        session.commit()
    return settings
