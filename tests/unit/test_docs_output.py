"""lab.docs after a run: documented output lines against a capture, with their
shapes and pid relations; each drift is cited at its document line."""

from __future__ import annotations

from pathlib import Path

from docs_tutorial import CAPTURE, DOCUMENT, RECORDS, SAMPLE, line_of, make_tutorial, trace

from lab.docs.markdown import parse_document
from lab.docs.verify import check_output, document_findings, own_check, run_check
from lab.verdicts.findings import Finding, drifts
from lab.verdicts.outcome import Outcome


def run_findings(root: Path, document: str, capture: str = CAPTURE,
                 records: dict[str, list[dict[str, str]]] | None = None) -> list[Finding]:
    scenario, project = make_tutorial(root, document)
    outcome = Outcome("demo", stage="expect", passed=True, capture=capture,
                      records=RECORDS if records is None else records)
    return document_findings(scenario, project, outcome)


def with_sample(*lines: str) -> str:
    return DOCUMENT.replace(SAMPLE, "\n".join(lines))


def test_every_documented_line_is_confirmed_with_its_counterpart(tmp_path: Path) -> None:
    scenario, project = make_tutorial(tmp_path)
    check = own_check(scenario, project)
    assert check is not None
    outcome = Outcome("demo", stage="expect", passed=True, capture=CAPTURE, records=RECORDS)
    run = run_check(check, {"demo": outcome})
    assert run.findings == []
    assert {c.line for c in run.confirmations} == {line_of(DOCUMENT, "pid = 13992", 0),
                                                   line_of(DOCUMENT, "pid = 13992", 1),
                                                   line_of(DOCUMENT, "pid = 14399", 0),
                                                   line_of(DOCUMENT, "pid = 14399", 1)}
    assert run.counterparts[line_of(DOCUMENT, "pid = 13992")].pid == "269"
    assert any("pid 13992 -> 269" in c.what for c in run.confirmations)


def test_a_message_the_code_no_longer_prints_cites_the_closest_observed_line(
        tmp_path: Path) -> None:
    lines = SAMPLE.splitlines()
    lines[1] = lines[1].replace("EXIT: pid = 13992, ret = 0", "EXIT: ret = 0")
    document = with_sample(*lines)
    found = [f for f in run_findings(tmp_path, document) if f.kind == "output-drift"]
    assert len(found) == 1
    line = line_of(document, "EXIT: ret = 0")
    assert found[0].line == line
    assert found[0].message == (f"documented at bpf/demo/README.md:{line} `EXIT: ret = 0`; "
                                "observed `EXIT: pid = 269, ret = 0`")


def test_one_pid_in_the_sample_must_be_one_pid_in_the_run(tmp_path: Path) -> None:
    capture = "\n".join([trace("rm", 269, "ENTRY pid = 269, filename = test1"),
                         trace("rm", 271, "ENTRY pid = 271, filename = test2"),
                         trace("rm", 271, "EXIT: pid = 271, ret = 0")])
    document = with_sample(*SAMPLE.splitlines()[:2])      # ENTRY and EXIT of pid 13992
    [finding] = run_findings(tmp_path, document, capture)
    assert (finding.kind, finding.line) == ("relation", line_of(document, "EXIT: pid = 13992"))
    assert "pid 13992 here and at bpf/demo/README.md:" in finding.message
    assert "came from pid 269" in finding.message and "only from pid(s) 271" in finding.message


def test_a_line_showing_another_pid_than_its_own_breaks_the_relation(tmp_path: Path) -> None:
    lines = SAMPLE.splitlines()
    lines[1] = lines[1].replace("EXIT: pid = 13992", "EXIT: pid = 777")
    document = with_sample(*lines)
    found = [f for f in run_findings(tmp_path, document) if drifts([f])]
    assert [(f.kind, f.line) for f in found] == [("relation", line_of(document, "pid = 777"))]
    assert "different pids (13992, 777) in one line" in found[0].message


def test_a_pid_shown_for_rm_must_be_an_rm_the_workload_ran(tmp_path: Path) -> None:
    records = {"unlinks": [{"pid": "500", "file": "test1"}, {"pid": "501", "file": "test2"}]}
    found = run_findings(tmp_path, DOCUMENT, records=records)
    assert {f.kind for f in found} == {"relation"}
    assert found[0].line == line_of(DOCUMENT, "ENTRY pid = 13992")
    assert "the pid of a `rm` the workload ran (500, 501)" in found[0].message
    assert "pid(s) 269" in found[0].message


def test_lines_cut_at_the_terminal_width_match_as_prefixes(tmp_path: Path) -> None:
    lines = [line[:line.index("filename = ") + 13] if "ENTRY" in line else line
             for line in SAMPLE.splitlines()]                 # "filename = te"
    document = with_sample(*lines)
    found = run_findings(tmp_path, document)
    assert [(f.kind, f.line) for f in found] == [
        ("truncated", line_of(document, "ENTRY pid = 13992")),
        ("truncated", line_of(document, "ENTRY pid = 14399"))]
    assert "the run printed `ENTRY pid = 269, filename = test1`" in found[0].message
    assert "the run printed `ENTRY pid = 271, filename = test2`" in found[1].message


def test_comm_and_numbers_that_are_not_pids_must_be_equal(tmp_path: Path) -> None:
    lines = SAMPLE.splitlines()
    lines[1] = lines[1].replace("ret = 0", "ret = -2")
    lines[2] = lines[2].replace("rm-14399", "touch-14399")
    document = with_sample(*lines)
    found = run_findings(tmp_path, document)
    assert [(f.kind, f.line) for f in found] == [
        ("output-drift", line_of(document, "ret = -2")),
        ("output-drift", line_of(document, "touch-14399"))]
    assert "(from `rm`, not `touch`)" in found[1].message


def test_nothing_captured_is_reported_at_the_sample(tmp_path: Path) -> None:
    [finding] = run_findings(tmp_path, DOCUMENT, capture="")
    assert (finding.kind, finding.line) == ("no-capture", line_of(DOCUMENT, "pid = 13992"))


def test_a_failed_program_leaves_the_sample_unjudged(tmp_path: Path) -> None:
    scenario, project = make_tutorial(tmp_path)
    outcome = Outcome("demo", stage="build", message="clang failed")
    assert document_findings(scenario, project, outcome) == []


def test_bcc_tables_match_column_by_column_and_unknown_comm_matches_any() -> None:
    document = parse_document(
        "```\n# ./uprobe_simple\n"
        "TIME(s)            COMM             PID    MESSAGE\n"
        "51859.473296000    b'target-sample' 2562   b'arg = 1'\n"
        "51859.473329000    b'target-sample' 2562   b'return value = 1'\n"
        "^C#\n```\n", Path("seed.md"))
    capture = ("TIME(s)            COMM             PID    MESSAGE\n"
               "125.308890000      b'<...>'         203    b'arg = 1'\n"
               "125.309636000      b'target-sample' 203    b'return value = 1'\n")
    records = {"calls": [{"pid": "203", "value": "1"}]}
    programs = {"calls": frozenset({"target-sample"})}
    assert check_output(document, capture, records, programs) == []
    moved = capture.replace("return value = 1", "return value = 2")
    [finding] = check_output(document, moved, records, programs)
    assert (finding.kind, finding.line) == ("output-drift", 5)
    assert finding.message.endswith("observed `return value = 2`")


def test_a_busy_trace_is_searched_quickly() -> None:
    noise = [trace("bash", 100 + i % 7, f"BPF triggered sys_enter_write from PID {100 + i % 7}.")
             for i in range(3000)]
    capture = "\n".join([*noise, trace("ls", 181, "BPF triggered sys_enter_write from PID 181.")])
    document = parse_document(
        "```\n"
        + trace("bash", 122, "BPF triggered sys_enter_write from PID 122.") + "\n"
        + trace("bash", 180, "BPF triggered sys_enter_write from PID 180.") + "\n"
        + trace("ls", 181, "BPF triggered sys_enter_write from PID 181.") + "\n```\n",
        Path("doc.md"))
    assert check_output(document, capture, {"w": [{"pid": "181"}]},
                        {"w": frozenset({"ls"})}) == []
