"""SQLAlchemy models (one declarative Base) and small value objects."""

from model.audit import AuditEvent
from model.base import Base
from model.blog import (
    Article,
    ArticleAutosave,
    ArticleRevision,
    Category,
    Comment,
    MenuItem,
    SlugHistory,
    Source,
    Tag,
    article_tags,
)
from model.imports import ImportedItem, ImportJob, Redirect
from model.mail import DigestItem, OutgoingMail, ReplySubscription
from model.search import SearchDocument, SearchTerm
from model.site import CounterFlush, DailyStat, Media, SiteSetting, Widget
from model.user import Invitation, RecoveryCode, User

__all__ = [
    "Article",
    "ArticleAutosave",
    "ArticleRevision",
    "AuditEvent",
    "Base",
    "Category",
    "Comment",
    "CounterFlush",
    "DailyStat",
    "DigestItem",
    "ImportJob",
    "ImportedItem",
    "Invitation",
    "Media",
    "MenuItem",
    "OutgoingMail",
    "RecoveryCode",
    "Redirect",
    "ReplySubscription",
    "SearchDocument",
    "SearchTerm",
    "SiteSetting",
    "SlugHistory",
    "Source",
    "Tag",
    "User",
    "Widget",
    "article_tags",
]
