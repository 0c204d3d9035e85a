"""The program's files written from its document (the document as single source).

A block names its file as a check would find it: a `<!-- lab: file=NAME -->`
comment, the fence's info string, its caption or its heading. Files need not
exist yet, so any file-like name counts here. Of several blocks naming one
file, the longest is the file and the others must be excerpts of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.docs.attribution import looks_like_code
from lab.docs.markdown import Code, Directive, Document, Text
from lab.docs.samples import has_samples

FILE_NAME = re.compile(r"(?<![\w/.-])([\w-]+(?:\.bpf)?\.(?:c|h|py|sh|bt|go|rs))(?![\w-])")


@dataclass(frozen=True)
class Extracted:
    name: str
    line: int      # the block's first content line
    text: str


def extract(document: Document) -> tuple[list[Extracted], list[str]]:
    """The files the document shows in full, and what could not be decided."""
    chosen: dict[str, Extracted] = {}
    problems: list[str] = []
    items = document.items
    for index, item in enumerate(items):
        if not isinstance(item, Code) or has_samples(item.lines):
            continue
        name = _name(index, items)
        if not name:
            continue
        text = item.content.rstrip() + "\n"
        if name in chosen and text.strip() not in chosen[name].text and \
                chosen[name].text.strip() not in text:
            problems.append(f"{document.where(item.first)}: a second block for {name} that "
                            f"is neither it nor an excerpt of it (first at "
                            f"{document.where(chosen[name].line)}); kept the longer")
        if name not in chosen or len(text) > len(chosen[name].text):
            chosen[name] = Extracted(name, item.first, text)
    return list(chosen.values()), problems


def _name(index: int, items: tuple[object, ...]) -> str:
    code = items[index]
    assert isinstance(code, Code)
    before = items[index - 1] if index else None
    if isinstance(before, Directive):
        if "skip" in before.values:
            return ""
        if before.values.get("file"):
            return before.values["file"]
    for text in (code.info, *_context(index, items)):
        names: list[str] = sorted(set(FILE_NAME.findall(text)))
        if len(names) == 1 and looks_like_code(code):
            return names[0]
    return ""


def _context(index: int, items: tuple[object, ...]) -> list[str]:
    """The caption before, the caption after, the heading above."""
    found = []
    before = items[index - 1] if index else None
    after = items[index + 1] if index + 1 < len(items) else None
    for item in (before, after):
        if isinstance(item, Text) and item.kind == "paragraph":
            found.append(item.text)
    heading = next((i for i in reversed(items[:index])
                    if isinstance(i, Text) and i.kind == "heading"), None)
    if isinstance(heading, Text):
        found.append(heading.text)
    return found
