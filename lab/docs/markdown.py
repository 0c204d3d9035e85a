"""Read a Markdown document into the items the checks need, with line numbers.

markdown-it-py (CommonMark) does the parsing; its tokens carry `.map`, the
source lines of each block, so every item here knows its 1-based line. Items
come in document order: headings, paragraphs (a block's caption), code blocks
(fenced or indented, with the fence's info string), images, and the lab's own
HTML comments (`<!-- lab: file=x.bpf.c -->`), which render as nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

DIRECTIVE = re.compile(r"<!--\s*lab:(?P<body>.*?)-->", re.DOTALL)
HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"']?(?P<src>[^\"' >]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Text:
    """A heading or a paragraph; `text` is its inline source (links, backticks kept)."""

    kind: str  # "heading" or "paragraph"
    line: int
    text: str


@dataclass(frozen=True)
class Code:
    """A code block: `line` is the fence's line, `first` the first content line."""

    line: int
    first: int
    info: str
    content: str

    @property
    def lang(self) -> str:
        return self.info.split(maxsplit=1)[0].lower() if self.info.strip() else ""

    @property
    def lines(self) -> list[str]:
        return self.content.splitlines()


@dataclass(frozen=True)
class Image:
    line: int
    src: str
    alt: str


@dataclass(frozen=True)
class Directive:
    """`<!-- lab: file=x.c skip scenario=y -->`: words and key=value pairs."""

    line: int
    values: dict[str, str] = field(default_factory=dict)


Item = Text | Code | Image | Directive


@dataclass(frozen=True)
class Document:
    path: Path
    text: str
    items: tuple[Item, ...]

    @property
    def codes(self) -> list[Code]:
        return [item for item in self.items if isinstance(item, Code)]

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, line: int) -> str:
        return f"{self.path.name}:{line}"


def read_document(path: Path) -> Document:
    return parse_document(path.read_text(encoding="utf-8", errors="replace"), path)


def parse_document(text: str, path: Path) -> Document:
    tokens = MarkdownIt("commonmark").parse(text)
    items: list[Item] = []
    for index, token in enumerate(tokens):
        items.extend(_items(token, tokens[index - 1] if index else None))
    return Document(path, text, tuple(items))


def _items(token: Token, previous: Token | None) -> list[Item]:
    line = token.map[0] + 1 if token.map else 0
    if token.type == "fence":
        return [Code(line, line + 1, token.info.strip(), token.content)]
    if token.type == "code_block":
        return [Code(line, line, "", token.content)]
    if token.type == "html_block":
        return _html(token.content, line)
    if token.type == "inline" and previous is not None:
        kind = {"heading_open": "heading", "paragraph_open": "paragraph"}.get(previous.type)
        found: list[Item] = [Text(kind, line, token.content)] if kind else []
        return found + _inline_items(token, line)
    return []


def _inline_items(token: Token, line: int) -> list[Item]:
    found: list[Item] = []
    for child in token.children or ():
        if child.type == "image":
            found.append(Image(line, str(child.attrs.get("src", "")), child.content))
        elif child.type == "html_inline":
            found.extend(_html(child.content, line))
    return found


def _html(content: str, line: int) -> list[Item]:
    found: list[Item] = []
    for match in DIRECTIVE.finditer(content):
        found.append(Directive(line + content[:match.start()].count("\n"),
                               parse_directive(match.group("body"))))
    for match in HTML_IMAGE.finditer(content):
        found.append(Image(line + content[:match.start()].count("\n"), match.group("src"), ""))
    return found


def parse_directive(body: str) -> dict[str, str]:
    """"file=a.c skip" -> {"file": "a.c", "skip": ""}."""
    values: dict[str, str] = {}
    for word in body.split():
        key, _, value = word.partition("=")
        values[key.strip().lower()] = value.strip().strip("\"'")
    return values
