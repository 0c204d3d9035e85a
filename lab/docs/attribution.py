"""Which code block shows which file of the program, found in the document itself.

In order of trust: a `<!-- lab: file=NAME -->` comment before the block, the
file name in the fence's info string, in the block's caption (the paragraph
just before or after it), in the heading it sits under, in a command the
document runs (`ecc kprobe-link.bpf.c`, `./uprobe_simple`), and last the
block's own lines. Every source but the first two must also be borne out by
the content (enough of the block's lines are lines of that file), so a
heading that names a file does not claim the shell commands under it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from lab.docs.markdown import Code, Directive, Document, Text
from lab.docs.program import Program, SourceFile
from lab.docs.samples import has_samples

CODE_LANGS = {"c", "h", "cpp", "c++", "python", "py", "python3", "bpf", "bpftrace", "go",
              "rust", "rs", "sh", "bash"}
SHELL_LANGS = {"sh", "bash", "shell", "console", "shell-session", "zsh", "text", ""}
# how much of a block must be lines of the file, by how the file was named
GATES = {"caption": 0.3, "heading": 0.5, "command": 0.5, "content": 0.6}
LINE_LIKE = 0.8  # a block line "is" a file line when this similar (an edited line counts)
FUZZY_MIN = 16   # shorter lines ("return 0;") must be equal: similar says nothing
CODE_ENDINGS = (";", "{", "}", ")", ":")
TRAILING_COMMENT = re.compile(r"(?P<code>[;{})\],:])\s+(?:#|//)\s.*$")
MIN_CONTENT_LINES = 3  # a block found by its content alone must have this many real lines


@dataclass(frozen=True)
class Attribution:
    code: Code
    program: Program | None = None
    source: SourceFile | None = None
    how: str = ""
    named: str = ""     # a file name the document gave that the program does not have
    skipped: bool = False
    samples: bool = False  # the block shows output lines, not a file

    @property
    def label(self) -> str:
        if self.program and self.source:
            return self.program.label(self.source)
        return ""


Named = tuple[Program, SourceFile]


def attribute(document: Document, programs: Sequence[Program]) -> list[Attribution]:
    commands = _command_files(document, programs)
    result = []
    items = document.items
    for index, item in enumerate(items):
        if isinstance(item, Code):
            result.append(_attribute(item, index, items, programs, commands))
    return result


def _attribute(code: Code, index: int, items: Sequence[object], programs: Sequence[Program],
               commands: list[Named]) -> Attribution:
    directive = _directive_before(index, items)
    if "skip" in directive:
        return Attribution(code, skipped=True, how="directive")
    if "file" in directive:
        found = _by_name(directive["file"], programs)
        if found is None:
            return Attribution(code, how="directive", named=directive["file"])
        return Attribution(code, found[0], found[1], "directive")
    if has_samples(code.lines):
        return Attribution(code, samples=True)
    named = names_in(code.info, programs)
    if len(named) == 1:
        return Attribution(code, named[0][0], named[0][1], "info string")
    for how, candidates in _candidates(index, items, programs, commands):
        chosen = _gated(code, how, candidates)
        if chosen:
            return Attribution(code, chosen[0], chosen[1], how)
    return Attribution(code)


def _candidates(index: int, items: Sequence[object], programs: Sequence[Program],
                commands: list[Named]) -> list[tuple[str, list[Named]]]:
    code = items[index]
    assert isinstance(code, Code)
    lang_files = [n for n in commands if _lang_fits(code.lang, n[1].name)]
    everything = [(p, f) for p in programs for f in p.files if _lang_fits(code.lang, f.name)]
    return [
        ("caption", _single(names_in(_caption(index, items, -1), programs))),
        ("caption", _single(names_in(_caption(index, items, +1), programs))),
        ("heading", _single(names_in(_heading(index, items), programs))),
        ("command", _single(lang_files)),
        ("content", everything if _looks_like_code(code) else []),
    ]


def _gated(code: Code, how: str, candidates: list[Named]) -> Named | None:
    """The candidate the block's lines bear out; by content alone, the best one, on
    exact lines only (a name was not given, so the lines must say it)."""
    if how != "content":
        fit = [n for n in candidates if overlap(code.lines, n[1].lines) >= GATES[how]]
        return fit[0] if fit else None
    lines = meaningful(code.lines)
    scored = [(overlap(code.lines, n[1].lines, exact=True), i) for i, n in enumerate(candidates)]
    best = max(scored, default=(0.0, -1))
    # a few lines must all be the file's, and long enough to say something
    enough = len(lines) >= MIN_CONTENT_LINES or (best[0] == 1.0 and len("".join(lines)) >= 40)
    return candidates[best[1]] if enough and best[0] >= GATES[how] else None


def _single(named: list[Named]) -> list[Named]:
    return named if len(named) == 1 else []


def names_in(text: str, programs: Sequence[Program]) -> list[Named]:
    """The program files a piece of prose or a command names, by file name or by a
    distinctive stem (`./uprobe_simple`, `target-sample`)."""
    found: list[Named] = []
    for program in programs:
        for source in program.files:
            if _mentions(text, source) and (program, source) not in found:
                found.append((program, source))
    return found


def _mentions(text: str, source: SourceFile) -> bool:
    name = re.escape(source.name.rsplit("/", 1)[-1])
    if re.search(rf"(?<![\w.-]){name}(?![\w-])", text):
        return True
    stem = source.stem
    distinctive = "-" in stem or "_" in stem
    pattern = rf"(?<![\w.-]){re.escape(stem)}(?![\w.-])" if distinctive else \
        rf"\./{re.escape(stem)}(?![\w.-])"
    return re.search(pattern, text) is not None


def _by_name(name: str, programs: Sequence[Program]) -> Named | None:
    for program in programs:
        source = program.file(name)
        if source:
            return program, source
    return None


def _directive_before(index: int, items: Sequence[object]) -> dict[str, str]:
    """The lab comment right before a block (nothing else between them)."""
    previous = items[index - 1] if index else None
    return previous.values if isinstance(previous, Directive) else {}


def _caption(index: int, items: Sequence[object], step: int) -> str:
    position = index + step
    while 0 <= position < len(items):
        item = items[position]
        if isinstance(item, Text):
            return item.text if item.kind == "paragraph" else ""
        if isinstance(item, Code):
            return ""
        position += step
    return ""


def _heading(index: int, items: Sequence[object]) -> str:
    for item in reversed(items[:index]):
        if isinstance(item, Text) and item.kind == "heading":
            return item.text
    return ""


def _command_files(document: Document, programs: Sequence[Program]) -> list[Named]:
    """Program files that the document's shell blocks use (compile, run)."""
    found: list[Named] = []
    for code in document.codes:
        if code.lang in SHELL_LANGS and not _looks_like_code(code):
            found += [n for n in names_in(code.content, programs) if n not in found]
    return found


def _lang_fits(lang: str, name: str) -> bool:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fits = {"c": {"c", "h"}, "h": {"c", "h"}, "cpp": {"c", "h", "cpp"}, "python": {"py"},
            "py": {"py"}, "python3": {"py"}, "bpftrace": {"bt"}, "sh": {"sh"}}
    return lang not in fits or suffix in fits[lang] or suffix == ""


def without_comment(line: str) -> str:
    """A line of code without the trailing comment a reader's language may add:
    `b.attach_uprobe(...)  # 関数fooを監視` is the file's `b.attach_uprobe(...)`."""
    return TRAILING_COMMENT.sub(r"\g<code>", line)


def _looks_like_code(code: Code) -> bool:
    if code.lang in CODE_LANGS - SHELL_LANGS:
        return True
    lines = [without_comment(line).strip() for line in code.lines if line.strip()]
    if not lines or sum(line.startswith(("$ ", "# ")) for line in lines) > len(lines) / 3:
        return False
    coded = sum(line.endswith(CODE_ENDINGS) or line.startswith(("#include", "def ", "import "))
                for line in lines)
    return coded >= max(1, len(lines) / 2)


def _trivial(line: str) -> bool:
    return len(line) <= 3 or not re.search(r"\w{2}", line)


def meaningful(lines: Sequence[str]) -> list[str]:
    code = [without_comment(line).strip() for line in lines]
    return [line for line in code if not _trivial(line)]


def overlap(block: Sequence[str], file: Sequence[str], exact: bool = False) -> float:
    """The share of the block's meaningful lines that are (nearly) lines of the file."""
    wanted = meaningful(block)
    have = meaningful(file)
    if not wanted:
        return 0.0
    lines = set(have)
    hits = sum(1 for line in wanted if line in lines
               or (not exact and len(line) >= FUZZY_MIN and _similar(line, have)))
    return hits / len(wanted)


def _similar(line: str, have: Sequence[str]) -> bool:
    for candidate in have:
        matcher = SequenceMatcher(None, line, candidate, autojunk=False)
        if matcher.real_quick_ratio() >= LINE_LIKE and matcher.quick_ratio() >= LINE_LIKE \
                and matcher.ratio() >= LINE_LIKE:
            return True
    return False


def looks_like_code(code: Code) -> bool:
    return _looks_like_code(code)
