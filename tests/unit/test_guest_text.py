"""Guest text made safe to show: control characters visible in a terminal, and a
Markdown table cell that stays one cell of plain text (lab.guest_text), also
where the reports put guest text (failure text, the report's reasons)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from lab.guest_text import BIDI, table_cell, visible
from lab.verdicts.matrix_report import markdown
from lab.verdicts.outcome import Outcome
from lab.verdicts.report import capture_tail, console_tail, failure_text
from lab.verdicts.verdict import FAIL, Cell

PROPERTY = settings(max_examples=400, deadline=None, database=None)
HOSTILE = [
    "\x1b]0;owned\x07",            # retitles the terminal
    "\x1b[2J\x1b[H",               # clears it
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # a hyperlink
    "\x9b31m",                     # C1 CSI
    "ok\rFAIL",                    # overwrites the line
    "abc\u202edcba",               # right-to-left override
    "a\x00b\x7fc\u2028d",
]


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
    ("\x1b[2J", "\\x1b[2J"),
    ("\x9b31m", "\\x9b31m"),
    ("ok\rFAIL", "ok\\x0dFAIL"),
    ("line\r\nnext\r\n", "line\nnext\n"),
    ("abc\u202edcba", "abc\\u202edcba"),
    ("a\x00b\x7fc\u2028d", "a\\x00b\\x7fc\\u2028d"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("ünïcødé 日本 ✅", "ünïcødé 日本 ✅"),
    ("\ud800", "\\ud800"),  # a lone surrogate (bytes decoded with surrogateescape)
])
def test_control_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert visible(text) == shown


def hidden(char: str) -> bool:
    return char not in "\n\t" and (
        unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI)


@PROPERTY
@given(st.text())
def test_nothing_a_terminal_acts_on_is_left(text: str) -> None:
    shown = visible(text)
    assert not any(hidden(char) for char in shown)
    assert visible(shown) == shown


def cells_of(table: str) -> tuple[list[list[str]], list[str]]:
    """The rows of a Markdown table as rendered (each cell's inline token types),
    and every token type found."""
    tokens = MarkdownIt("commonmark").enable("table").parse(table)
    rows: list[list[str]] = []
    types: list[str] = []

    def walk(items: list[Token]) -> None:
        for token in items:
            types.append(token.type)
            walk(token.children or [])

    walk(tokens)
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        if token.type == "inline" and rows:
            rows[-1].append("".join(c.type for c in token.children or []))
    return rows, types


MARKUP = ["a | b", "x\n\n| y | z |\n", "<img src=x onerror=alert(1)>", "<script>x</script>",
          "[click](https://evil.example)", "![i](https://evil.example/i.png)",
          "<https://evil.example>", "**bold** _it_", "`code` ``more``", "`", "trailing\\",
          "&lt;b&gt;", *HOSTILE]


@pytest.mark.parametrize("text", MARKUP)
def test_a_table_cell_stays_one_cell_of_plain_text(text: str) -> None:
    rows, types = cells_of(f"| a | b |\n|---|---|\n| x | {table_cell(text)} |\n")

    assert len(rows) == 2 and len(rows[1]) == 2, rows
    assert not {"html_inline", "html_block", "link_open", "image", "strong_open",
                "em_open"} & set(types)


@PROPERTY
@given(st.text(max_size=40))
def test_any_text_is_one_cell(text: str) -> None:
    rows, types = cells_of(f"| a | b |\n|---|---|\n| x | {table_cell(text)} |\n")
    assert len(rows) == 2 and len(rows[1]) == 2
    assert not {"html_inline", "html_block", "link_open", "image"} & set(types)


def test_the_reports_reason_column_is_plain_text() -> None:
    cells = [Cell("6.1", "demo", FAIL, reason, "load") for reason in MARKUP[:4]]
    cells += [Cell("6.12", "demo", FAIL, "\x1b[2Jcleared", "load")]

    table = markdown(cells)

    assert "\x1b" not in table
    notes = table.split("\n\n")[1]
    rows, types = cells_of(notes)
    assert [len(row) for row in rows] == [4] * 6
    assert not {"html_inline", "html_block", "link_open", "image"} & set(types)


def test_failure_text_and_tails_show_what_the_guest_printed_as_escapes(tmp_path: Path) -> None:
    outcome = Outcome("demo", stage="load", message="\x1b]0;owned\x07loader died\r\n",
                      capture="\x1b[2Jevent 1\n", console_tail="\x9b31mpanic\r\n",
                      evidence=tmp_path)
    texts = [failure_text(outcome, "6.1"), capture_tail(outcome), console_tail(outcome)]

    assert not any(hidden(char) for text in texts for char in text)
    assert "\\x1b]0;owned\\x07loader died" in texts[0]
    assert texts[1] == "\\x1b[2Jevent 1"
    assert texts[2] == "\\x9b31mpanic\n"
