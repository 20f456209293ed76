"""Rendering a message's plain text and HTML from two templates under template/mail/."""

from __future__ import annotations

from typing import Any

import tornado.locale
import tornado.template

from config import ROOT
from extends.mailer import MailContent

# Plain text is not HTML: the .txt templates are rendered without escaping.
_TEXT = tornado.template.Loader(str(ROOT / "template"), autoescape=None)
_HTML = tornado.template.Loader(str(ROOT / "template"))


def render_mail(
    template: str, subject: str, locale: tornado.locale.Locale, **values: Any
) -> MailContent:
    """``mail/<template>.txt`` and ``mail/<template>.html`` in the recipient's ``locale``.

    Rendered apart from any page (a page's namespace would consume the visitor's flash
    messages): the templates get ``_``, ``locale`` and ``values``.
    """
    namespace = {"_": locale.translate, "locale": locale, **values}
    text = _TEXT.load(f"mail/{template}.txt").generate(**namespace).decode()
    html = _HTML.load(f"mail/{template}.html").generate(**namespace).decode()
    return MailContent(subject=subject, text=text, html=html)
