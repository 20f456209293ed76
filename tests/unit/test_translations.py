"""Every UI string in every template, handler and service message has a Simplified Chinese
translation."""

import csv
import re

from config import ROOT

# ``_("…")`` in templates and ``self._("…")`` / ``handler._("…")`` in handlers.
MESSAGES = re.compile(r"""(?<![\w])_\(\s*(["'])(.+?)(?<!\\)\1""")
PLURALS = re.compile(r"""translate\(\s*(["'])(.+?)\1,\s*(["'])(.+?)\3""")
# A service's user-facing message: the literal first argument of a ServiceError class,
# or of service.errors.message() where a message is kept in a constant or a table.
SERVICE_ERRORS = r"(?:ServiceError|NotFound|Invalid|Forbidden|Conflict|TooManyAttempts|message)"
SERVICE_MESSAGES = re.compile(rf"""(?<![\w.]){SERVICE_ERRORS}\(\s*(["'])(.+?)(?<!\\)\1""")
# A message built before it is raised (f-string, %, concatenation) cannot be looked up.
BUILT_MESSAGES = re.compile(
    rf"""(?<![\w.]){SERVICE_ERRORS}\(\s*(?:[fFrRbB]+["']|["'][^"']*["']\s*[%+])"""
)
PLACEHOLDERS = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def chinese_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for path in sorted((ROOT / "locale/zh_CN").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[1].strip():
                    table[row[0]] = row[1]
    return table


def ui_sources():
    yield from sorted((ROOT / "template").rglob("*.html"))
    yield from sorted((ROOT / "controller").rglob("*.py"))


def test_every_ui_string_has_a_chinese_translation():
    table = chinese_table()
    missing = []
    found = 0
    for path in ui_sources():
        source = path.read_text(encoding="utf-8")
        wanted = [match.group(2) for match in MESSAGES.finditer(source)]
        for match in PLURALS.finditer(source):
            wanted += [match.group(2), match.group(4)]
        found += len(wanted)
        relative = path.relative_to(ROOT)
        missing += [f"{relative}: {text}" for text in wanted if text not in table]
    assert found > 300  # the scan really reads the UI's strings
    assert missing == []


def test_translations_keep_their_placeholders():
    broken = []
    for english, chinese in chinese_table().items():
        for placeholder in PLACEHOLDERS.findall(english):
            if placeholder not in chinese:
                broken.append(f"{english} → {chinese}")
    assert broken == []


def service_messages() -> list[tuple[str, str]]:
    """(file, message template) for every user-facing message in service/."""
    found = []
    for path in sorted((ROOT / "service").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        relative = str(path.relative_to(ROOT))
        found += [(relative, match.group(2)) for match in SERVICE_MESSAGES.finditer(source)]
    return found


def test_every_service_message_has_a_chinese_translation():
    table = chinese_table()
    messages = service_messages()
    assert len({text for _, text in messages}) > 60  # the scan really reads the services' messages
    missing = [f"{path}: {text}" for path, text in messages if text not in table]
    assert missing == []


def test_service_messages_are_templates_not_built_strings():
    built = []
    for path in sorted((ROOT / "service").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        built += [f"{path.name}: {match.group(0)}" for match in BUILT_MESSAGES.finditer(source)]
    assert built == []


def test_service_messages_leave_numbers_to_their_details():
    # A limit typed into a message goes stale when its constant changes: pass it as a detail.
    # ("1 to {limit}" may stay: nothing is shorter than one character.)
    numbered = [
        f"{path}: {text}"
        for path, text in service_messages()
        if re.search(r"\d", PLACEHOLDERS.sub("", text.replace("1 to {", "{")))
    ]
    assert numbered == []


def test_every_unavailable_page_message_has_a_chinese_translation():
    """The 503 page says the store's ``user_message`` (extends/): each one is translated."""
    table = chinese_table()
    pattern = re.compile(r"""user_message = (["'])(.+?)\1""")
    wanted = []
    for path in sorted((ROOT / "extends").glob("*.py")):
        wanted += [match.group(2) for match in pattern.finditer(path.read_text("utf-8"))]
    assert len(wanted) >= 4
    assert [text for text in wanted if text not in table] == []
