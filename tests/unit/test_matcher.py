"""Tests for lab.verdicts.matcher against the shipped scenarios' own expectations and
capture text shaped like what a 6.1 guest really prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.scenario import Expectation, load_scenario
from lab.verdicts.matcher import evaluate, evaluate_all, expand, shape

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def expectation_of(name: str) -> Expectation:
    scenario = load_scenario(SCENARIOS_DIR / f"{name}.toml")
    assert len(scenario.expect) == 1
    return scenario.expect[0]


def trace(comm: str, pid: int, cpu: int, stamp: str, message: str) -> str:
    """One trace_pipe line, laid out as the kernel prints it."""
    return f"{comm:>16}-{pid:<7} [{cpu:03d}] ...21 {stamp:>12}: bpf_trace_printk: {message}"


def bcc(stamp: str, comm: str, pid: int, message: str) -> str:
    """One line of the bcc scripts' output (print "%-18.9f %-16s %-6d %s")."""
    return f"{stamp:<18} {comm:<16} {pid:<6} {message}"


BCC_HEADER = f"{'TIME(s)':<18} {'COMM':<16} {'PID':<6} MESSAGE"

KPROBE_OK = [
    trace("rm", 269, 1, "27.358232", "KPROBE ENTRY pid = 269, filename = test1"),
    trace("rm", 269, 1, "27.361571", "KPROBE EXIT: pid = 269, ret = 0"),
    trace("touch", 270, 0, "27.402113", "KPROBE ENTRY pid = 270, filename = .bashrc.swp"),
    trace("rm", 271, 0, "27.455027", "KPROBE ENTRY pid = 271, filename = test2"),
    trace("rm", 271, 0, "27.455100", "KPROBE EXIT: pid = 271, ret = 0"),
]
UNLINKS = [{"pid": "269", "file": "test1"}, {"pid": "271", "file": "test2"}]


def test_trace_helper_matches_the_real_line_layout() -> None:
    assert KPROBE_OK[0] == ("              rm-269     [001] ...21    27.358232: "
                            "bpf_trace_printk: KPROBE ENTRY pid = 269, filename = test1")
    assert bcc("29.419207000", "b'<...>'", 268, "b'arg = 1'") == (
        "29.419207000       b'<...>'         268    b'arg = 1'")
    assert BCC_HEADER == "TIME(s)            COMM             PID    MESSAGE"


# --- expand and shape ---------------------------------------------------------

def test_expand_substitutes_record_values() -> None:
    template = "KPROBE ENTRY pid = ${pid}, filename = ${file}$"
    assert expand(template, {"pid": "269", "file": "test1"}) == (
        "KPROBE ENTRY pid = 269, filename = test1$")


@pytest.mark.parametrize("value", ["a.b", "x+y", "(bash)", "[lab]# ", "$HOME", r"c:\tmp"])
def test_expand_escapes_regex_metacharacters_in_values(value: str) -> None:
    pattern = re.compile("read: " + expand("${line}", {"line": value}) + "$")
    assert pattern.search(f"read: {value}")
    assert pattern.pattern == "read: " + re.escape(value) + "$"


def test_expand_keeps_the_template_regex_itself() -> None:
    assert expand(r"\(bash\) read: ${line} ?$", {"line": "hi"}) == r"\(bash\) read: hi ?$"


def test_shape_turns_every_field_into_a_wildcard() -> None:
    loose = shape("KPROBE ENTRY pid = ${pid}, filename = ${file}$")
    assert loose == "KPROBE ENTRY pid = (?:.*?), filename = (?:.*?)$"
    assert re.search(loose, "KPROBE ENTRY pid = 999, filename = other")
    assert not re.search(loose, "KPROBE EXIT: pid = 999, ret = 0")


def test_shape_of_a_template_using_a_field_twice_is_a_valid_regex() -> None:
    loose = shape("PID ${pid} tid ${pid}")
    assert re.search(loose, "PID 7 tid 7")


def test_failure_with_a_field_used_twice_reports_near_misses_instead_of_crashing() -> None:
    expectation = Expectation("twice", "r", ("PID ${pid} tid ${pid}$",))
    result = evaluate(expectation, [{"pid": "5"}], ["PID 6 tid 6"])
    assert result.problems == (
        "{pid='5'}: no line matches 'PID 5 tid 5$'; lines of that shape: PID 6 tid 6",)


# --- passing captures ---------------------------------------------------------

def test_kprobe_entry_and_exit_for_two_rms_pass() -> None:
    result = evaluate(expectation_of("kprobe-link"), UNLINKS, KPROBE_OK)
    assert result.passed
    assert result.problems == ()


def test_bashreadline_typed_lines_with_trailing_space_pass() -> None:
    capture = [trace("bash", 301, 0, f"40.{i:06d}", f"PID 301 (bash) read: {line} ")
               for i, line in enumerate(["hi", "test1", "test2", "command1", "command2"])]
    assert capture[0].endswith("bpf_trace_printk: PID 301 (bash) read: hi ")
    records = [{"pid": "301", "line": line}
               for line in ["hi", "test1", "test2", "command1", "command2"]]
    assert evaluate(expectation_of("bashreadline"), records, capture).passed


def test_uprobe_simple_passes_with_unknown_comm_on_the_first_arg_line() -> None:
    capture = [
        BCC_HEADER,
        bcc("29.419207000", "b'<...>'", 268, "b'arg = 1'"),
        bcc("29.420097000", "b'target-sample'", 268, "b'return value = 1'"),
        bcc("30.420311000", "b'target-sample'", 268, "b'arg = 2'"),
        bcc("30.420402000", "b'target-sample'", 268, "b'return value = 2'"),
    ]
    records = [{"pid": "268", "value": "1"}, {"pid": "268", "value": "2"}]
    assert evaluate(expectation_of("uprobe-simple"), records, capture).passed


def test_minimal_passes_with_the_writer_pid_among_others() -> None:
    capture = [
        trace("sshd", 120, 1, "31.000001", "BPF triggered sys_enter_write from PID 120."),
        trace("echo", 280, 0, "31.000100", "BPF triggered sys_enter_write from PID 280."),
    ]
    assert evaluate(expectation_of("minimal"), [{"pid": "280"}], capture).passed


@pytest.mark.parametrize("comm", ["b'ls'", "b'<...>'"])
def test_strlen_snoop_passes_with_known_or_unknown_comm(comm: str) -> None:
    capture = [BCC_HEADER, bcc("12.500000000", comm, 312, "b'length of argument string = 8.'")]
    assert evaluate(expectation_of("strlen-snoop"), [{"pid": "312"}], capture).passed


def test_strlen_snoop_fails_for_another_program_comm() -> None:
    capture = [BCC_HEADER, bcc("12.5", "b'bash'", 312, "b'length of argument string = 8.'")]
    assert not evaluate(expectation_of("strlen-snoop"), [{"pid": "312"}], capture).passed


def test_evaluate_all_splits_the_capture_text_and_picks_records_by_name() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "kprobe-link.toml")
    results = evaluate_all(scenario.expect, {"unlinks": UNLINKS}, "\n".join(KPROBE_OK) + "\n")
    assert [r.passed for r in results] == [True]
    missing = evaluate_all(scenario.expect, {}, "\n".join(KPROBE_OK))
    assert missing[0].problems == ("the workload recorded no 'unlinks': nothing to check",)


# --- failing captures ---------------------------------------------------------

def test_wrong_pid_in_entry_fails_naming_record_pattern_and_the_near_miss() -> None:
    capture = [
        trace("rm", 999, 1, "27.358232", "KPROBE ENTRY pid = 999, filename = test1"),
        trace("rm", 999, 1, "27.361571", "KPROBE EXIT: pid = 999, ret = 0"),
    ]
    result = evaluate(expectation_of("kprobe-link"), [{"pid": "269", "file": "test1"}], capture)
    assert not result.passed
    (problem,) = result.problems
    assert problem.startswith("{pid='269', file='test1'}: no line matches "
                              "'bpf_trace_printk: KPROBE ENTRY pid = 269, filename = test1$'")
    assert problem.endswith("; lines of that shape: rm-999     [001] ...21    27.358232: "
                            "bpf_trace_printk: KPROBE ENTRY pid = 999, filename = test1")


def test_missing_exit_fails_after_the_entry() -> None:
    capture = [KPROBE_OK[0]]
    (problem,) = evaluate(expectation_of("kprobe-link"), UNLINKS[:1], capture).problems
    assert "{pid='269', file='test1'}" in problem
    assert "no line matches 'bpf_trace_printk: KPROBE EXIT: pid = 269, ret = 0$' " \
           "after the previous line" in problem
    assert problem.endswith("; no captured line has that shape")


def test_exit_before_entry_fails_in_order() -> None:
    capture = [KPROBE_OK[1], KPROBE_OK[0]]
    (problem,) = evaluate(expectation_of("kprobe-link"), UNLINKS[:1], capture).problems
    assert "KPROBE EXIT: pid = 269, ret = 0$' after the previous line" in problem
    assert "lines of that shape: rm-269" in problem


def test_exit_before_entry_passes_when_order_does_not_matter() -> None:
    ordered = expectation_of("kprobe-link")
    unordered = Expectation(ordered.summary, ordered.for_each, ordered.lines, in_order=False)
    assert evaluate(unordered, UNLINKS[:1], [KPROBE_OK[1], KPROBE_OK[0]]).passed


def test_nonzero_return_value_fails() -> None:
    capture = [KPROBE_OK[0], trace("rm", 269, 1, "27.361571", "KPROBE EXIT: pid = 269, ret = -2")]
    (problem,) = evaluate(expectation_of("kprobe-link"), UNLINKS[:1], capture).problems
    assert problem.startswith("{pid='269', file='test1'}: no line matches "
                              "'bpf_trace_printk: KPROBE EXIT: pid = 269, ret = 0$'")


def test_only_the_failing_record_is_reported() -> None:
    capture = KPROBE_OK[:3]  # the second rm's lines never came
    (problem,) = evaluate(expectation_of("kprobe-link"), UNLINKS, capture).problems
    assert problem.startswith("{pid='271', file='test2'}: no line matches "
                              "'bpf_trace_printk: KPROBE ENTRY pid = 271, filename = test2$'")
    assert "filename = .bashrc.swp" in problem


def test_typed_line_that_never_came_back_fails() -> None:
    capture = [trace("bash", 301, 0, "40.000001", "PID 301 (bash) read: hi ")]
    records = [{"pid": "301", "line": "hi"}, {"pid": "301", "line": "test1"}]
    (problem,) = evaluate(expectation_of("bashreadline"), records, capture).problems
    assert problem.startswith("{pid='301', line='test1'}: no line matches "
                              r"'bpf_trace_printk: PID 301 \\(bash\\) read: test1 ?$'")
    assert "lines of that shape: bash-301" in problem
    assert "read: hi" in problem


def test_typed_line_with_regex_metacharacters_matches_only_literally() -> None:
    capture = [trace("bash", 301, 0, "40.000001", "PID 301 (bash) read: axb ")]
    result = evaluate(expectation_of("bashreadline"), [{"pid": "301", "line": "a.b"}], capture)
    assert not result.passed
    assert r"read: a\\.b ?$" in result.problems[0]
    literal = [trace("bash", 301, 0, "40.000001", "PID 301 (bash) read: a.b ")]
    assert evaluate(expectation_of("bashreadline"), [{"pid": "301", "line": "a.b"}],
                    literal).passed


def test_arg_without_its_return_value_fails_showing_other_return_values() -> None:
    capture = [
        BCC_HEADER,
        bcc("29.419207000", "b'<...>'", 268, "b'arg = 1'"),
        bcc("29.420097000", "b'target-sample'", 268, "b'return value = 1'"),
        bcc("30.420311000", "b'target-sample'", 268, "b'arg = 2'"),
    ]
    records = [{"pid": "268", "value": "1"}, {"pid": "268", "value": "2"}]
    (problem,) = evaluate(expectation_of("uprobe-simple"), records, capture).problems
    assert problem.startswith("{pid='268', value='2'}: no line matches ")
    missing = r"b'(?:target-sample|<\.\.\.>)'\s+268\s+b'return value = 2'"
    assert f"no line matches {missing!r} after the previous line" in problem
    assert "lines of that shape: 29.420097000       b'target-sample' 268    " \
           "b'return value = 1'" in problem


def test_absent_writer_pid_fails_showing_up_to_three_lines_of_that_shape() -> None:
    capture = [trace("sshd", pid, 1, f"31.00000{pid % 10}",
                     f"BPF triggered sys_enter_write from PID {pid}.")
               for pid in (120, 121, 122, 123)]
    (problem,) = evaluate(expectation_of("minimal"), [{"pid": "280"}], capture).problems
    assert problem.startswith("{pid='280'}: no line matches "
                              r"'bpf_trace_printk: BPF triggered sys_enter_write from PID 280\\.$'")
    assert "; lines of that shape: sshd-120 " in problem
    assert "from PID 120. | sshd-121" in problem
    assert "from PID 122." in problem
    assert "PID 123" not in problem


def test_writer_pid_that_is_a_prefix_of_another_pid_does_not_match() -> None:
    capture = [trace("echo", 2801, 0, "31.0", "BPF triggered sys_enter_write from PID 2801.")]
    assert not evaluate(expectation_of("minimal"), [{"pid": "280"}], capture).passed


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_empty_record_list_fails_even_with_a_full_capture(path: Path) -> None:
    """Every expectation of every shipped scenario: nothing recorded proves nothing."""
    for expectation in load_scenario(path).expect:
        result = evaluate(expectation, [], KPROBE_OK)
        assert result.problems == (
            f"the workload recorded no {expectation.for_each!r}: nothing to check",)


# --- rows: tables by column name (ecli's event tables) ---------------------------

ECLI_HEADER = "TIME     PID    PPID   EXIT_CODE DURATION_NS COMM   "


def ecli_row(pid: int, ppid: int, code: int, comm: str) -> str:
    """One row as lab/in_guest/ecli_format.py prints exitsnoop's struct event."""
    return f"21:40:09  {pid:<6} {ppid:<6} {code:<9} {1234567:<11} {comm}"


EXITS = ["attached handle_exit to tp/sched/sched_process_exit", "Running eBPF program...",
         ECLI_HEADER, ecli_row(301, 120, 0, "cat"), ecli_row(302, 120, 3, "sh"),
         ecli_row(303, 120, 7, "sh")]
EXIT_RECORDS = [{"pid": "302", "parent": "120", "code": "3"},
                {"pid": "303", "parent": "120", "code": "7"}]


def test_ecli_row_helper_matches_the_stand_ins_layout() -> None:
    assert ecli_row(302, 120, 3, "sh") == "21:40:09  302    120    3         1234567     sh"


def test_exitsnoop_rows_match_by_column() -> None:
    result = evaluate(expectation_of("exitsnoop"), EXIT_RECORDS, EXITS)
    assert result.problems == ()


def test_a_row_with_the_wrong_exit_code_fails_showing_the_closest_rows() -> None:
    capture = [*EXITS[:4], ecli_row(302, 120, 0, "sh")]
    (problem,) = evaluate(expectation_of("exitsnoop"), EXIT_RECORDS[:1], capture).problems
    assert problem == ("{pid='302', parent='120', code='3'}: no row with PID == 302, "
                       "PPID == 120, EXIT_CODE == 3, COMM == sh; closest rows: "
                       "PID=302 PPID=120 EXIT_CODE=0 COMM=sh | PID=301 PPID=120 EXIT_CODE=0 "
                       "COMM=cat")


def test_a_cell_matches_whole_never_as_a_prefix() -> None:
    capture = [ECLI_HEADER, ecli_row(3021, 120, 3, "sh"), ecli_row(302, 120, 3, "shx")]
    assert not evaluate(expectation_of("exitsnoop"), EXIT_RECORDS[:1], capture).passed


def test_rows_before_the_header_or_without_it_are_not_rows() -> None:
    no_header = [ecli_row(302, 120, 3, "sh")]
    (problem,) = evaluate(expectation_of("exitsnoop"), EXIT_RECORDS[:1], no_header).problems
    assert problem.endswith("; no header line names the columns PID, PPID, EXIT_CODE, COMM")
    before = [ecli_row(302, 120, 3, "sh"), ECLI_HEADER]
    assert not evaluate(expectation_of("exitsnoop"), EXIT_RECORDS[:1], before).passed


def test_the_last_column_keeps_its_spaces() -> None:
    expectation = Expectation("comm with spaces", "r", (), rows=((("COMM", "${comm}"),),))
    capture = [ECLI_HEADER, ecli_row(1, 1, 0, "Web Content")]
    assert evaluate(expectation, [{"comm": "Web Content"}], capture).passed
    assert not evaluate(expectation, [{"comm": "Web"}], capture).passed


def test_a_header_names_every_column_and_a_later_header_starts_a_new_table() -> None:
    expectation = Expectation("two tables", "r", (), rows=((("PID", "${pid}"), ("UID", "0")),))
    capture = ["TIME     PID    UID    COMM   ", "21:00:00  5      0      a",
               "TIME     UID    PID    COMM   ", "21:00:01  7      0      b"]
    assert evaluate(expectation, [{"pid": "5"}], capture).passed
    (problem,) = evaluate(expectation, [{"pid": "7"}], capture).problems  # UID=7 PID=0 there
    assert problem.endswith("no row with PID == 7, UID == 0; closest rows: PID=5 UID=0")


def test_rows_in_order_after_the_previous_row() -> None:
    expectation = Expectation("exec then exit", "r", (), rows=(
        (("EVENT", "EXEC"), ("PID", "${pid}")), (("EVENT", "EXIT"), ("PID", "${pid}"))))
    header = "TIME     EVENT PID    "
    ordered = [header, "1  EXEC 9", "2  EXIT 9"]
    assert evaluate(expectation, [{"pid": "9"}], ordered).passed
    (problem,) = evaluate(expectation, [{"pid": "9"}], [header, "2  EXIT 9", "1  EXEC 9"]).problems
    assert "no row with EVENT == EXIT, PID == 9 after the previous row" in problem
    unordered = Expectation(expectation.summary, "r", (), False, expectation.rows)
    assert evaluate(unordered, [{"pid": "9"}], [header, "2  EXIT 9", "1  EXEC 9"]).passed


def test_no_row_agreeing_on_any_column_says_so() -> None:
    expectation = Expectation("x", "r", (), rows=((("PID", "${pid}"),),))
    (problem,) = evaluate(expectation, [{"pid": "9"}], ["TIME PID", "1 8"]).problems
    assert problem.endswith("no row with PID == 9; no row agrees on any of those columns")


# --- absent: what a filter must leave out ----------------------------------------

OPENS = [trace("bash", 118, 0, "50.1", "Process ID: 118 enter sys openat"),
         trace("cat", 330, 1, "50.2", "Process ID: 330 enter sys openat")]


def test_opensnoop_passes_when_only_the_targeted_shell_is_traced() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "opensnoop.toml")
    records = {"shell": [{"pid": "200", "shell": "118"}], "others": [{"pid": "331"}]}
    results = evaluate_all(scenario.expect, records, "\n".join(OPENS[:1]))
    assert [r.problems for r in results] == [(), ()]


def test_an_absent_line_that_appears_fails_naming_the_capture_line() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "opensnoop.toml")
    absent = scenario.expect[1]
    assert absent.absent
    (problem,) = evaluate(absent, [{"pid": "330"}], OPENS).problems
    assert problem == ("{pid='330'}: line matches 'bpf_trace_printk: Process ID: 330 enter sys "
                       "openat$' must not appear, but capture line 2 is "
                       f"{OPENS[1].strip()!r}")


def test_an_absent_row_that_appears_fails() -> None:
    expectation = Expectation("not the cat", "r", (), rows=((("PID", "${pid}"),),), absent=True)
    (problem,) = evaluate(expectation, [{"pid": "301"}], EXITS).problems
    assert problem.startswith("{pid='301'}: row with PID == 301 must not appear, but capture "
                              "line 4 is '21:40:09  301")
    assert evaluate(expectation, [{"pid": "999"}], EXITS).passed


def test_an_absent_expectation_over_no_records_still_fails() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "opensnoop.toml")
    assert not evaluate(scenario.expect[1], [], []).passed
