"""Translations: ``locale/<language>/*.csv`` files, one per area of the site, merged.

Tornado's own loader wants one CSV per language; splitting by area keeps each
part of the site's strings next to each other without one ever-growing file.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import tornado.locale

log = logging.getLogger("blog.i18n")

DEFAULT_LANGUAGE = "en_US"


def load_translations(directory: Path) -> list[str]:
    """Load every ``<dir>/<lang>/*.csv``; returns the supported language codes."""
    translations: dict[str, dict[str, dict[str, str]]] = {}
    for language_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        table: dict[str, dict[str, str]] = {}
        for path in sorted(language_dir.glob("*.csv")):
            with open(path, encoding="utf-8", newline="") as handle:
                for line, row in enumerate(csv.reader(handle), start=1):
                    if not row or len(row) < 2:
                        continue
                    english, translated = row[0], row[1]
                    plural = row[2] if len(row) > 2 else "unknown"
                    if plural not in ("plural", "singular", "unknown"):
                        raise ValueError(f"{path}:{line}: bad plural form {plural!r}")
                    table.setdefault(plural, {})[english] = translated
        translations[language_dir.name] = table
    # Tornado keeps CSV translations in module state; this is its documented format.
    tornado.locale._translations = translations
    tornado.locale._supported_locales = frozenset([*translations, DEFAULT_LANGUAGE])
    tornado.locale._use_gettext = False
    tornado.locale.set_default_locale(DEFAULT_LANGUAGE)
    return sorted(set(translations) | {DEFAULT_LANGUAGE})
