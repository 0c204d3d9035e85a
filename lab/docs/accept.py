"""Rewrite a document's output samples from a real run, keeping everything else.

Like cram's interactive mode: each documented output line is replaced by its
counterpart in the run (or, for a line that drifted, the closest observed line
of its kind), indented as the document indents it; commands, prompts, prose and
code are left byte for byte. The caller shows the diff and writes the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.docs.output import closest_line
from lab.docs.samples import SampleLine, parse_capture
from lab.docs.static_check import DocCheck


def accepted_text(check: DocCheck, counterparts: Mapping[int, SampleLine],
                  captures: Mapping[str, str]) -> str:
    """The document's text with each sample line (and table header) from the run."""
    lines = check.document.text.splitlines(keepends=True)
    for block in check.blocks:
        seen = parse_capture(captures.get(block.program.scenario, ""))
        if not seen:
            continue
        for sample in block.samples:
            new = counterparts.get(sample.line) or closest_line(sample, seen)
            if new is not None:
                _replace(lines, sample.line, _laid_out(sample, new))
            if sample.kind == "table" and new is not None and new.header \
                    and sample.header_line and sample.header.strip() != new.header.strip():
                _replace(lines, sample.header_line, _indent(sample.header) + new.header.strip())
    return "".join(lines)


def _laid_out(sample: SampleLine, new: SampleLine) -> str:
    """The observed line as the document lays out its lines: a document that strips
    the kernel's padding of comm gets the line stripped too."""
    padded = sample.kind == "ftrace" and sample.text.startswith("  ")
    text = new.text.rstrip() if padded else new.text.strip()
    return _indent(sample.text) + text if not padded else text


def _indent(text: str) -> str:
    return text[:len(text) - len(text.lstrip())]


def _replace(lines: list[str], number: int, text: str) -> None:
    """Line `number` becomes text, keeping its line ending and the indentation a
    fence inside a list or quote adds to every line."""
    old = lines[number - 1]
    body = old.rstrip("\r\n")
    ending = old[len(body):]
    outer = _indent(body)[:max(0, len(_indent(body)) - len(_indent(text)))]
    lines[number - 1] = outer + text + ending
