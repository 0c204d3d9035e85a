"""Every documented output line gets a verdict from the static check: ecli tables
against the exported struct, a loader's or target's printf lines, a bcc tool's
header and rows (a script known by its shebang too), the loader's ready line; a
sample the lab cannot read is a finding at its line, never silence; the rest is
"not checkable statically" with the reason; and the coverage counts them."""

from __future__ import annotations

from pathlib import Path

from docs_tutorial import DOCUMENT, SAMPLE, line_of, make_tutorial

from lab.docs.coverage import coverage
from lab.docs.output import OutputCheck
from lab.docs.static_check import DocCheck
from lab.docs.verify import own_check, run_check
from lab.scenario import load_scenario
from lab.verdicts.findings import ERROR, WARNING, drifts
from lab.verdicts.outcome import Outcome

HEADER = """\
#ifndef __DEMO_H
#define __DEMO_H
struct event {
\tint pid;
\tint ppid;
\tunsigned exit_code;
\tunsigned long long duration_ns;
\tchar comm[16];
};
#endif
"""
TABLE = """\
TIME     PID     PPID    EXIT_CODE  DURATION_NS  COMM
21:40:09  42050  42049   0          0            which
21:40:09  42049  3517    0          0            sh"""
LOADER = """\
#include <stdio.h>
int main(void)
{
\tprintf("Successfully started! Please run `sudo cat /sys/kernel/debug/tracing/trace_pipe`\\n");
\tprintf("count = %d\\n", 3);
\tprintf("%-8s %-6s %s\\n", "TIME", "PID", "COMM");
\tprintf("%-8s %-6d %s\\n", ts, e->pid, e->comm);
\treturn 0;
}
"""
SCRIPT = """\
#!/usr/bin/env python3
from bcc import BPF
print("%-9s %-6s %s" % ("TIME", "PID", "COMMAND"))
def show(cpu, data, size):
    printb(b"%-9s %-6d %s" % (b"12:00:00", 1, b"ls"))
"""


def check_of(root: Path, document: str, **files: str) -> DocCheck:
    scenario, project = make_tutorial(root, document)
    for name, text in files.items():
        (project / "bpf" / "demo" / name.replace("_", ".", 1)).write_text(text)
    check = own_check(scenario, project)
    assert check is not None
    return check


def with_output(block: str) -> str:
    return DOCUMENT.replace("## Build", f"## Run\n\n```console\n$ sudo ./run\n{block}\n```\n\n"
                            "## Build")


def findings_at(check: DocCheck, line: int) -> list[tuple[str, str]]:
    return [(f.kind, f.severity) for f in check.findings if f.line == line]


def test_an_ecli_table_is_checked_against_the_exported_struct(tmp_path: Path) -> None:
    document = with_output(TABLE)
    check = check_of(tmp_path, document, demo_h=HEADER)
    confirmed = {c.line for c in check.confirmations}
    rows = [line_of(document, "42050"), line_of(document, "42049   0")]
    assert line_of(document, "EXIT_CODE") in confirmed and set(rows) <= confirmed
    assert not drifts(check.findings)


def test_an_ecli_header_missing_the_struct_s_columns_is_drift(tmp_path: Path) -> None:
    document = with_output(TABLE.replace("EXIT_CODE  DURATION_NS  ", ""))
    check = check_of(tmp_path, document, demo_h=HEADER)
    line = line_of(document, "TIME     PID")
    assert findings_at(check, line) == [("unproducible", ERROR)]
    assert "EXIT_CODE DURATION_NS" in next(f.message for f in check.findings if f.line == line)


def test_a_header_the_lab_cannot_read_is_a_finding_at_its_line_not_silence(
        tmp_path: Path) -> None:
    document = with_output(TABLE.replace("COMM\n", 'COMM".\n'))
    check = check_of(tmp_path, document, demo_h=HEADER)
    header, row = line_of(document, 'COMM".'), line_of(document, "42050")
    assert findings_at(check, header) == [("unparsable-sample", WARNING)]
    assert findings_at(check, row) == [("unparsable-sample", WARNING)]
    assert 'COMM".' in next(f.message for f in check.findings if f.line == header)


def test_a_document_with_only_an_unreadable_table_does_not_claim_no_output(
        tmp_path: Path) -> None:
    document = with_output(TABLE.replace("COMM\n", 'COMM".\n')).replace(
        f"$ sudo cat /sys/kernel/tracing/trace_pipe\n{SAMPLE}", "$ sudo cat trace_pipe")
    check = check_of(tmp_path, document, demo_h=HEADER)
    assert "no-sample" not in {f.kind for f in check.findings}


def test_a_loader_s_printf_lines_and_the_ready_line_are_confirmed(tmp_path: Path) -> None:
    block = ("Successfully started! Please run `sudo cat /sys/kernel/debug/tracing/trace_pipe`\n"
             "count = 3\nRunning eBPF program...\nsomething else entirely")
    document = with_output(block)
    check = check_of(tmp_path, document, loader_c=LOADER)
    confirmed = {c.line for c in check.confirmations}
    assert {line_of(document, "Successfully started"), line_of(document, "count = 3"),
            line_of(document, "Running eBPF")} <= confirmed
    assert findings_at(check, line_of(document, "something else")) == [("not-static", "note")]


def test_a_python_script_without_a_suffix_is_known_by_its_shebang(tmp_path: Path) -> None:
    block = "TIME      PID    COMMAND\n12:00:01  4242   ls -l\n12:00:02  4243   date"
    document = with_output(block)
    check = check_of(tmp_path, document, bashreadline=SCRIPT)
    confirmed = {c.line for c in check.confirmations}
    assert {line_of(document, "COMMAND"), line_of(document, "4242"),
            line_of(document, "4243")} <= confirmed


def test_coverage_counts_output_lines_and_their_verdicts(tmp_path: Path) -> None:
    document = with_output(TABLE.replace("COMM\n", 'COMM".\n') + "\n^C")
    check = check_of(tmp_path, document, demo_h=HEADER)
    found = coverage(check)
    assert len(found.lines) == 3 + len(SAMPLE.splitlines())  # not the prompts, not ^C
    assert found.judged == len(found.lines)
    assert found.by_kind["unparsable-sample"] == 3


def test_a_loader_s_printf_header_and_rows_are_confirmed(tmp_path: Path) -> None:
    document = with_output("TIME     PID    COMM\n03:16:41 110688 sh\n03:16:42 110689 which")
    check = check_of(tmp_path, document, loader_c=LOADER)
    confirmed = {c.line for c in check.confirmations}
    assert {line_of(document, "TIME     PID"), line_of(document, "110688"),
            line_of(document, "110689")} <= confirmed
    assert not check.findings


def test_a_run_confirms_the_loader_s_printed_lines_or_finds_them_drifted(
        tmp_path: Path) -> None:
    document = with_output("count = 3").replace("$ sudo ./run", "$ sudo ecli run demo.bpf.o")
    scenario, project = make_tutorial(tmp_path, document)
    toml = project / "scenarios" / "demo.toml"
    toml.write_text(toml.read_text().replace('capture = "trace_pipe"', 'capture = "output"'))
    (project / "bpf" / "demo" / "loader.c").write_text(LOADER)
    check = own_check(load_scenario(toml), project)
    assert check is not None
    line = line_of(document, "count = 3")

    def run(capture: str) -> OutputCheck:
        outcome = Outcome("demo", stage="expect", passed=True, capture=capture, records={})
        return run_check(check, {"demo": outcome})

    assert line in [c.line for c in run("Running\ncount = 3\n").confirmations]
    assert line not in [f.line for f in run("Running\ncount = 3\n").findings]
    [finding] = [f for f in run("Running\ncount = 4\n").findings if f.line == line]
    assert (finding.kind, finding.line) == ("output-drift", line)
    assert "closest: `count = 4`" in finding.message
    # a series chapter's sample shows its author's values: only the static check
    toml.write_text('series = "bpf-developer-tutorial"\n' + toml.read_text())
    check = own_check(load_scenario(toml), project)
    assert check is not None
    assert line not in [f.line for f in run("Running\ncount = 4\n").findings]
    # and a target program the workload runs prints elsewhere: not in the loader's capture
    (project / "bpf" / "demo" / "README.md").write_text(with_output("count = 3"))
    toml.write_text(toml.read_text().replace('series = "bpf-developer-tutorial"\n', ""))
    check = own_check(load_scenario(toml), project)
    assert check is not None and not check.printed
