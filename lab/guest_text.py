"""Text a guest wrote, made safe to show in a terminal and in the Markdown report.

Console tails, logs, messages and the reasons built from them reach the user's
terminal (the CLI, pytest's report) and lab-report.md. Raw, a guest's
`\\x1b]0;...` retitles the terminal, `\\x1b[2J` clears it, a `\\r` or a
right-to-left override makes a line read as something else, and in a Markdown
table a `|` or a newline breaks the table while `<img src=...>` or `[x](url)`
becomes markup. `visible` is the one place such text is made harmless for
a terminal; `table_cell` builds on it for a Markdown cell.
"""

from __future__ import annotations

import re
import unicodedata

KEPT = "\n\t"
# Format characters that reorder or hide text (Unicode's bidirectional controls,
# as in "Trojan Source", CVE-2021-42574), shown like control characters.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
HIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, separators
BACKTICKS = re.compile(r"`+")
TABLE_BAR = "¦"  # a `|` in a cell would end it, and `\|` is read differently by renderers


def visible(text: str) -> str:
    """text with every control character (C0 but newline and tab, DEL, C1), lone
    surrogate, line separator and bidirectional control written as an escape
    (`\\x1b`, `\\u202e`); a CR before a newline is dropped (serial consoles end lines
    with CRLF). Everything else is kept as it was."""
    text = text.replace("\r\n", "\n")
    if text.isprintable():
        return text
    return "".join(_shown(char) for char in text)


def _shown(char: str) -> str:
    if char in KEPT:
        return char
    if char in BIDI or unicodedata.category(char) in HIDDEN_CATEGORIES:
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def table_cell(text: str) -> str:
    """text as one cell of a Markdown table: visible, on one line, in a code span so
    nothing in it is markup (no HTML, link, image or emphasis), with `|` shown as
    `¦` so it cannot end the cell. Empty text is an empty cell."""
    flat = " ".join(visible(text).split()).replace("|", TABLE_BAR)
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in BACKTICKS.findall(flat)), default=0) + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"
