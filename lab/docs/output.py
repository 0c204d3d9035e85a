"""A document's output sample against what a run captured (pure logic).

Each documented line needs a counterpart of its shape in the capture (see
output_shapes.py); together the counterparts must keep the sample's relations: one
pid where the sample shows one, distinct pids where it shows distinct ones, and
a pid shown for `rm` must be the pid of an `rm` the workload ran. A line with
no counterpart is output drift, cited with the closest observed line; a cut
line is matched as a prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from lab.docs.output_shapes import Bindings, Shape, consistent, pid_values, shape_of
from lab.docs.samples import SampleLine, parse_capture
from lab.verdicts.findings import Confirmation, Finding

Record = Mapping[str, str]
SEARCH_BUDGET = 50_000
SHOWN = 120  # characters of a line quoted in a finding


@dataclass
class OutputCheck:
    findings: list[Finding] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    counterparts: dict[int, SampleLine] = field(default_factory=dict)  # doc line -> seen


@dataclass(eq=False)  # identity: a line is a key while searching
class _Line:
    shape: Shape
    candidates: list[tuple[SampleLine, Bindings]]
    cut_by_run: bool = False  # matched only as a prefix, though the formats did not say


def match_samples(document: str, samples: Sequence[SampleLine], capture: str,
                  records: Mapping[str, Sequence[Record]],
                  record_programs: Mapping[str, frozenset[str]],
                  truncated: set[int] | None = None) -> OutputCheck:
    """Check documented lines (of one program's sample) against one capture."""
    check = OutputCheck()
    if not samples:
        return check
    seen = parse_capture(capture)
    if not seen:
        check.findings.append(Finding(document, samples[0].line, "no-capture",
                                      "the run captured no trace line or table row to compare "
                                      "the documented output with"))
        return check
    pids = pid_values(samples)
    allowed = _recorded_pids(records, record_programs)
    lines = [_candidates(document, s, pids, seen, allowed, truncated or set(), check)
             for s in samples]
    usable = [line for line in lines if line is not None]
    assignment = _search(usable)
    if assignment is None:
        assignment = _explain(document, usable, allowed, check)
    for line, (counterpart, bindings) in assignment.items():
        check.counterparts[line.shape.sample.line] = counterpart
        if line.cut_by_run:
            check.findings.append(Finding(
                document, line.shape.sample.line, "truncated",
                f"documented `{_short(line.shape.sample.message)}` is cut: the run printed "
                f"`{_short(counterpart.message)}` there; matched as a prefix"))
        check.confirmations.append(_confirmed(document, line.shape, counterpart, bindings))
    return check


def _recorded_pids(records: Mapping[str, Sequence[Record]],
                   record_programs: Mapping[str, frozenset[str]]) -> dict[str, set[str]]:
    """program name -> pids the workload recorded for steps running it."""
    allowed: dict[str, set[str]] = {}
    for name, programs in record_programs.items():
        for program in programs:
            allowed.setdefault(program, set()).update(
                str(r["pid"]) for r in records.get(name, ()) if "pid" in r)
    return allowed


def _candidates(document: str, sample: SampleLine, pids: set[str], seen: Sequence[SampleLine],
                allowed: Mapping[str, set[str]], truncated: set[int],
                check: OutputCheck) -> _Line | None:
    cut = sample.line in truncated or sample.cut
    shape = shape_of(sample, pids, prefix=cut)
    found = _matching(shape, seen)
    if not found and not cut:
        shape = shape_of(sample, pids, prefix=True)
        found = _matching(shape, seen)
    if not found:
        check.findings.append(_drift(document, sample, seen, pids))
        return None
    owned = [c for c in found if _owned(sample, c[1], allowed)]
    if not owned:
        programs = sorted(allowed.get(sample.comm or "", set()), key=int)
        check.findings.append(Finding(
            document, sample.line, "relation",
            f"documented `{_short(sample.text.strip())}` shows pid {sample.pid} for "
            f"`{sample.comm}`: it must be the pid of a `{sample.comm}` the workload ran "
            f"({', '.join(programs)}); observed lines of this shape come from pid(s) "
            f"{', '.join(sorted({c[0].pid or '?' for c in found}))}"))
        return None
    return _Line(shape, owned, cut_by_run=not cut and shape.prefix)


def _matching(shape: Shape, seen: Sequence[SampleLine]) -> list[tuple[SampleLine, Bindings]]:
    """Observed lines of this shape, one per distinct binding (the search needs no more)."""
    found: dict[tuple[tuple[str, str], ...], tuple[SampleLine, Bindings]] = {}
    for line in seen:
        bindings = shape.match(line)
        if bindings is not None:
            found.setdefault(tuple(sorted(bindings.items())), (line, bindings))
    return list(found.values())


def _owned(sample: SampleLine, bindings: Bindings, allowed: Mapping[str, set[str]]) -> bool:
    """A pid shown for a program the workload ran must be one of that program's pids."""
    pids = allowed.get(sample.comm or "")
    return not pids or sample.pid is None or bindings.get(sample.pid) in pids


def _search(lines: Sequence[_Line]) -> dict[_Line, tuple[SampleLine, Bindings]] | None:
    order = sorted(lines, key=lambda line: len(line.candidates))
    chosen: dict[_Line, tuple[SampleLine, Bindings]] = {}
    steps = 0

    def place(index: int, bindings: Bindings) -> bool:
        nonlocal steps
        if index == len(order):
            return True
        for candidate in order[index].candidates:
            steps += 1
            if steps > SEARCH_BUDGET:
                return False
            if consistent(bindings, candidate[1]) is None:
                chosen[order[index]] = candidate
                if place(index + 1, {**bindings, **candidate[1]}):
                    return True
        return False

    return chosen if place(0, {}) else None


def _explain(document: str, lines: Sequence[_Line], allowed: Mapping[str, set[str]],
             check: OutputCheck) -> dict[_Line, tuple[SampleLine, Bindings]]:
    """No assignment keeps every relation: go in document order, keep what fits, and
    say for each line that cannot fit which relation it breaks."""
    chosen: dict[_Line, tuple[SampleLine, Bindings]] = {}
    bindings: Bindings = {}
    bound_at: dict[str, int] = {}
    for line in lines:
        fits = [c for c in line.candidates if consistent(bindings, c[1]) is None]
        if fits:
            chosen[line] = fits[0]
            for name in fits[0][1]:
                bound_at.setdefault(name, line.shape.sample.line)
            bindings.update(fits[0][1])
            continue
        check.findings.append(_broken(document, line, bindings, bound_at))
    return chosen


def _broken(document: str, line: _Line, bindings: Bindings, bound_at: Mapping[str, int]) -> Finding:
    sample = line.shape.sample
    first = line.candidates[0][1]
    name = consistent(bindings, first) or next(iter(first))
    if name in bindings and bindings[name] != first[name]:
        seen = sorted({c[1][name] for c in line.candidates}, key=int)
        why = (f"the sample shows pid {name} here and at {document}:{bound_at[name]}, one "
               f"process; in the run that line came from pid {bindings[name]}, and lines of "
               f"this shape only from pid(s) {', '.join(seen)}")
    elif len(set(first.values())) < len(first):
        example = _short(line.candidates[0][0].text.strip())
        why = (f"the sample shows different pids ({', '.join(sorted(first))}) in one line; "
               f"observed lines of this shape show one pid: `{example}`")
    else:
        other = next(k for k, v in bindings.items() if v == first[name])
        why = (f"the sample shows pid {name} here and pid {other} at {document}:"
               f"{bound_at[other]}, two processes; in the run both are pid {first[name]}")
    return Finding(document, sample.line, "relation",
                   f"documented `{_short(sample.text.strip())}`: {why}")


def _drift(document: str, sample: SampleLine, seen: Sequence[SampleLine],
           pids: set[str]) -> Finding:
    other_comm = [line for line in seen
                  if shape_of(replace(sample, comm=None), pids).match(line) is not None]
    closest = other_comm[0] if other_comm else _closest(sample, seen)
    where = f"{document}:{sample.line}"
    message = f"documented at {where} `{_short(sample.message.strip())}`"
    if closest is None:
        return Finding(document, sample.line, "output-drift", message + "; no observed line")
    comm = f" (from `{closest.comm}`, not `{sample.comm}`)" if other_comm else ""
    return Finding(document, sample.line, "output-drift",
                   f"{message}; observed `{_short(closest.message.strip())}`{comm}",
                   f"documented: {sample.text.strip()}\nclosest observed (capture line "
                   f"{closest.line}): {closest.text.strip()}")


def _closest(sample: SampleLine, seen: Sequence[SampleLine]) -> SampleLine | None:
    by_form: dict[str, SampleLine] = {}
    for line in seen:
        if line.kind == sample.kind:
            by_form.setdefault(re.sub(r"\d+", "#", f"{line.comm} {line.message}"), line)
    pool = list(by_form.values()) or list(seen)
    if not pool:
        return None
    return max(pool, key=lambda line: _similarity(sample, line))


def _similarity(sample: SampleLine, line: SampleLine) -> float:
    text = SequenceMatcher(None, sample.message.strip(), line.message.strip()).ratio()
    return text + (0.05 if sample.comm == line.comm else 0.0)


def closest_line(sample: SampleLine, seen: Sequence[SampleLine]) -> SampleLine | None:
    return _closest(sample, seen)


def _confirmed(document: str, shape: Shape, seen: SampleLine, bindings: Bindings) -> Confirmation:
    pids = ", ".join(f"pid {k} -> {v}" for k, v in sorted(bindings.items()) if k != v)
    how = "as a prefix of " if shape.prefix else ""
    return Confirmation(document, shape.sample.line,
                        f"`{_short(shape.sample.message.strip())}` observed {how}"
                        f"`{_short(seen.text.strip())}`" + (f" ({pids})" if pids else ""))


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def match_printed(document: str, printed: Mapping[int, str], capture: str) -> OutputCheck:
    """Documented lines a loader prints (its printf lines) against the run's output:
    each needs a captured line of its shape (numbers other than pids as shown);
    pid relations are the trace lines' and table rows' business."""
    check = OutputCheck()
    seen = [line.strip() for line in capture.splitlines() if line.strip()]
    for number, text in sorted(printed.items()):
        sample = SampleLine(number, text, "plain", None, None, text)
        shape = shape_of(sample, set())
        found = next((line for line in seen if shape.message.fullmatch(line)), None)
        if found is not None:
            check.confirmations.append(Confirmation(
                document, number, f"`{_short(text)}` observed as `{_short(found)}`"))
        else:
            closest = max(seen, default="", key=lambda line: SequenceMatcher(
                None, line, text, autojunk=False).ratio())
            check.findings.append(Finding(
                document, number, "output-drift",
                f"documented `{_short(text)}`: the run printed no line of its shape"
                + (f"; closest: `{_short(closest)}`" if closest else "")))
    return check
