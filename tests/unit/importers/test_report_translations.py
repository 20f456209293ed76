"""Every message an import can report (its refusals and its summary lines) has a Simplified
Chinese translation, with the same placeholders: the admin's import page shows them."""

import re

from config import ROOT
from tests.unit.test_translations import PLACEHOLDERS, chinese_table

REPORTED = re.compile(
    r"""(?<![\w.])(?:ImportRefused|ServiceError|NotFound|Invalid|message)\(\s*"""
    r"""((?:(["'])(?:.+?)(?<!\\)\2\s*)+)"""
)
LITERAL = re.compile(r"""(["'])(.+?)(?<!\\)\1""")


def message_text(literals: str) -> str:
    """A message written as adjacent string literals, joined as Python joins them."""
    return "".join(match.group(2) for match in LITERAL.finditer(literals))


def test_every_import_message_has_a_chinese_translation():
    table = chinese_table()
    found = []
    for path in sorted((ROOT / "service" / "importers").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found += [(path.name, message_text(m.group(1))) for m in REPORTED.finditer(source)]
    assert len(found) > 30  # the scan really reads the importers' messages
    assert [f"{name}: {text}" for name, text in found if text not in table] == []
    for _, text in found:
        assert sorted(PLACEHOLDERS.findall(text)) == sorted(PLACEHOLDERS.findall(table[text]))
