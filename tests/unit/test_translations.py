"""Every UI string in every template and handler has a Simplified Chinese translation."""

import csv
import re

from config import ROOT

MESSAGES = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)(?<!\\)\1""")
PLURALS = re.compile(r"""translate\(\s*(["'])(.+?)\1,\s*(["'])(.+?)\3""")


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
        for placeholder in re.findall(r"%\(\w+\)[sd]|\{\w*\}", english):
            if placeholder not in chinese:
                broken.append(f"{english} → {chinese}")
    assert broken == []
