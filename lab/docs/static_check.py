"""Everything that can be checked without a VM, in one pass over a document.

Code blocks against their files; documented output lines against the format
strings the program prints with; output shown only as images; cut lines.
The result also says which block is which file and which sample block belongs
to which program, for the run-time check and for `lab docs accept`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from lab.docs.attribution import Attribution, attribute, looks_like_code, names_in, overlap
from lab.docs.code_block import compare, shown
from lab.docs.formats import Format, formats_of, produces, produces_prefix
from lab.docs.markdown import Code, Directive, Document, Image, Text
from lab.docs.other_lines import judge_other_lines
from lab.docs.program import Program, command_name
from lab.docs.samples import SampleLine, parse_lines
from lab.docs.shown_output import PROMPT
from lab.verdicts.findings import Confirmation, Finding

OUTPUT_WORDS = re.compile(r"result|output|trace|結果|出力|実行|결과|출력|실행", re.IGNORECASE)


@dataclass
class SampleBlock:
    code: Code
    program: Program
    samples: list[SampleLine]


@dataclass
class DocCheck:
    label: str
    document: Document
    programs: list[Program]
    attributions: list[Attribution] = field(default_factory=list)
    blocks: list[SampleBlock] = field(default_factory=list)
    truncated: set[int] = field(default_factory=set)
    # plain lines a format prints (a loader's printf): program scenario -> line -> text
    printed: dict[str, dict[int, str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)


def check_document(document: Document, programs: Sequence[Program], label: str) -> DocCheck:
    check = DocCheck(label, document, list(programs))
    check.attributions = attribute(document, programs)
    for attribution in check.attributions:
        _check_block(check, attribution)
    for block in check.blocks:
        _check_formats(check, block)
    _check_images(check)
    shown = _check_other_lines(check)
    if not any(block.samples for block in check.blocks) and not shown:
        line = check.document.codes[0].line if check.document.codes else 1
        check.findings.append(Finding(label, line, "no-sample",
                                      "the document shows no output sample as text: nothing "
                                      "ties it to what the program prints"))
    check.findings.sort(key=lambda f: f.line)
    return check


def _check_block(check: DocCheck, attribution: Attribution) -> None:
    code, label = attribution.code, check.label
    if attribution.skipped:
        return
    if attribution.named:
        names = ", ".join(sorted({p.directory.name for p in check.programs}))
        check.findings.append(Finding(label, code.line, "unknown-file",
                                      f"the block is said to show {attribution.named}, which "
                                      f"is not a file of {names}"))
    elif attribution.samples:
        program = _program_of_samples(check, code)
        check.blocks.append(SampleBlock(code, program, parse_lines(code.lines, code.first)))
    elif attribution.program and attribution.source:
        found, ok = compare(shown(label, code.first, code.content), attribution.label,
                            attribution.source.text)
        check.findings += found
        check.confirmations += [Confirmation(c.file, c.line, f"{c.what}, named by the "
                                             f"{attribution.how}") for c in ok]
    elif looks_like_code(code):
        check.findings.append(_unmatched(check, code))


def _unmatched(check: DocCheck, code: Code) -> Finding:
    scores = [(overlap(code.lines, f.lines, exact=True), p.label(f))
              for p in check.programs for f in p.files]
    closest = max(scores, default=(0.0, ""))
    hint = f" (closest: {closest[1]}, {closest[0]:.0%} of its lines)" if closest[0] else ""
    names = ", ".join(sorted(p.directory.name + "/" for p in check.programs))
    return Finding(check.label, code.line, "unmatched-block",
                   f"the code block shows no file of {names}{hint}; mark it "
                   "`<!-- lab: skip -->` if it is not the program, or `<!-- lab: file=NAME -->`")


def _program_of_samples(check: DocCheck, code: Code) -> Program:
    """The program a sample block shows the output of: a `scenario=` comment, a file
    the block itself runs, the nearest earlier mention, or the capture kind."""
    items = check.document.items
    index = items.index(code)
    before = items[index - 1] if index else None
    if isinstance(before, Directive) and before.values.get("scenario"):
        for program in check.programs:
            if program.scenario == before.values["scenario"]:
                return program
    for item in [code, *reversed(items[:index])]:
        text = item.content if isinstance(item, Code) else \
            item.text if isinstance(item, Text) else ""
        named = {p.scenario: p for p, _ in names_in(text, check.programs)}
        if len(named) == 1:
            return next(iter(named.values()))
    kinds = {line.kind for line in parse_lines(code.lines)}
    wanted = "trace_pipe" if kinds == {"ftrace"} else "output"
    fitting = [p for p in check.programs if p.capture == wanted]
    return fitting[0] if len(fitting) == 1 else check.programs[0]


def _kernel_formats(program: Program) -> list[Format]:
    return [f for source in program.files for f in formats_of(source) if f.kernel]


def _check_formats(check: DocCheck, block: SampleBlock) -> None:
    formats = _kernel_formats(block.program)
    cut: list[SampleLine] = []
    for sample in block.samples:
        if not formats or (sample.kind == "ftrace" and "printk" not in sample.event):
            continue
        if sample.kind == "table" and "MESSAGE" not in sample.header and "MSG" not in sample.header:
            continue
        if any(produces(f, sample.message) for f in formats) and not sample.cut:
            fmt = next(f for f in formats if produces(f, sample.message))
            check.confirmations.append(Confirmation(
                check.label, sample.line, f"`{sample.message.strip()}` can be printed by "
                f"\"{fmt.text}\" ({block.program.directory.name}/{fmt.where})"))
        elif any(produces_prefix(f, sample.message) for f in formats):
            cut.append(sample)
        else:
            check.findings.append(_unproducible(check.label, sample, formats, block.program))
    _mark_cut(check, block, cut)


def _mark_cut(check: DocCheck, block: SampleBlock, cut: list[SampleLine]) -> None:
    """Lines the formats show are cut (a prefix of what they print, or a bytes repr
    without its closing quote). A line cut where a whole line could end ("filename
    = te") is found by the run, matched as a prefix of the observed line."""
    cut += [s for s in block.samples if s.cut and s not in cut]
    for sample in sorted(cut, key=lambda s: s.line):
        check.truncated.add(sample.line)
        check.confirmations = [c for c in check.confirmations if c.line != sample.line]
        check.findings.append(Finding(
            check.label, sample.line, "truncated",
            f"`{sample.text.strip()}` is cut ({len(sample.text.rstrip(chr(10)))} columns): "
            "checked as a prefix; show whole lines"))


def _unproducible(label: str, sample: SampleLine, formats: Sequence[Format],
                  program: Program) -> Finding:
    best = max(formats, key=lambda f: SequenceMatcher(None, f.text, sample.message).ratio())
    return Finding(label, sample.line, "unproducible",
                   f"documented `{sample.message.strip()}`: no format string in "
                   f"{program.directory.name}/ prints it; closest: \"{best.text}\" "
                   f"({program.directory.name}/{best.where})")


def _check_other_lines(check: DocCheck) -> bool:
    """A verdict for every other documented output line (see other_lines.py); whether
    one of them is the program's output (confirmed, or a sample the lab cannot read)."""
    program_output = False
    shown = {a.code.line for a in check.attributions if a.source is not None or a.skipped}
    for code in check.document.codes:
        if code.line in shown or looks_like_code(code):
            continue
        judged = {f.line for f in check.findings} | {c.line for c in check.confirmations}
        found, ok, printed = judge_other_lines(check.label, code, check.programs, judged)
        check.findings += found
        check.confirmations += ok
        program = _program_of_samples(check, code)
        if printed and _runs_loader(code, program):
            check.printed.setdefault(program.scenario, {}).update(printed)
        program_output = program_output or bool(ok) or any(
            f.kind in ("unparsable-sample", "unproducible") for f in found)
    return program_output


def _runs_loader(code: Code, program: Program) -> bool:
    """Whether the block's command is the scenario's loader, whose output a run
    captures (a target program the workload runs prints elsewhere)."""
    prompts = [PROMPT.sub("", line, count=1) for line in code.lines if PROMPT.match(line)]
    loader = command_name(program.loader)
    return bool(prompts) and bool(loader) and all(command_name(p) == loader for p in prompts)


def _check_images(check: DocCheck) -> None:
    heading = ""
    how = "as an image" if any(b.samples for b in check.blocks) else "only as an image"
    for item in check.document.items:
        if isinstance(item, Text) and item.kind == "heading":
            heading = item.text
        if isinstance(item, Image) and OUTPUT_WORDS.search(f"{item.alt} {item.src} {heading}"):
            check.findings.append(Finding(
                check.label, item.line, "not-checkable",
                f"output shown {how} ({item.src}): not checkable; show it as text"))
