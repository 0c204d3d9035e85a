"""Cell verdicts: a recorded incompatibility excuses only the failure it names,
and every failing cell's one-line reason carries the cause."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab.scenario import Expectation, Incompatibility, Scenario, load_scenarios
from lab.verdicts.cause import cause_of
from lab.verdicts.matcher import ExpectationResult
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import (
    EXPECTED_INCOMPATIBLE,
    FAIL,
    PASS,
    REASON_CHARS,
    UNEXPECTED_PASS,
    cell_for,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CLANG = ("kprobe-link.bpf.c:27:35: error: no member named 'name' in 'struct filename'; "
         "did you mean 'iname'?")
BUILD_LOG = f"In file included from x.c:1:\n{CLANG}\n  bpf_printk(...)\n1 error generated.\n"
RECORDED = Incompatibility("build", r"no member named 'name' in 'struct filename'",
                           "7.2 moved name into an anonymous struct")


def a_scenario(incompatible: dict[str, Incompatibility] | None = None) -> Scenario:
    scenario = dataclasses.replace(load_scenarios(SCENARIOS)[0], known_drift=())
    scenario.incompatible.clear()
    scenario.incompatible.update(incompatible or {})
    return scenario


def build_failure() -> Outcome:
    return Outcome("demo", stage="build", logs={"build": BUILD_LOG},
                   message=f"build command `clang -O2 -c x.c` exited 1:\n{BUILD_LOG}")


@pytest.mark.parametrize(("outcome", "recorded", "verdict"), [
    (Outcome("demo", stage="expect", passed=True), None, PASS),
    (build_failure(), None, FAIL),
    (build_failure(), RECORDED, EXPECTED_INCOMPATIBLE),
    (Outcome("demo", stage="expect", passed=True), RECORDED, UNEXPECTED_PASS),
])
def test_the_verdict_compares_the_outcome_with_the_record(
        outcome: Outcome, recorded: Incompatibility | None, verdict: str) -> None:
    cell = cell_for(outcome, a_scenario({"7.2": recorded} if recorded else None), "7.2")
    assert cell.verdict == verdict
    assert cell.ok == (verdict in (PASS, EXPECTED_INCOMPATIBLE))


@pytest.mark.parametrize("other", [
    Outcome("demo", stage="boot", message="timed out after 150 s waiting for the guest to boot"),
    Outcome("demo", stage="load", message="`ecli run x.o` did not print 'Running' within 180 s"),
    Outcome("demo", stage="preflight", message="kernel 7.2 is built without CONFIG_KPROBES"),
    Outcome("demo", stage="kernel", message="the guest went away (kernel panic: sysrq)"),
    Outcome("demo", stage="load", message=f"exited before it was ready; its output:\n{CLANG}"),
    Outcome("demo", stage="build", logs={"build": "sh: 1: bpftool: not found\n"},
            message="build command `bpftool btf dump` exited 127:\nsh: 1: bpftool: not found"),
])
def test_a_recorded_incompatibility_does_not_excuse_another_failure(other: Outcome) -> None:
    cell = cell_for(other, a_scenario({"7.2": RECORDED}), "7.2")

    assert cell.verdict == FAIL
    assert cell.reason.startswith(f"{other.stage}: ")
    assert "(not the recorded incompatibility: at build, evidence /no member" in cell.reason
    assert cell.expected.startswith("at build")
    assert cell.observed.startswith(f"{other.stage}: ")


def test_the_real_cause_leads_however_long_the_record_it_did_not_match() -> None:
    long_record = Incompatibility("build", "no member", "x" * REASON_CHARS)
    cell = cell_for(Outcome("demo", stage="boot", message="could not be booted: panic"),
                    a_scenario({"7.2": long_record}), "7.2")

    assert cell.verdict == FAIL
    assert cell.reason.startswith("boot: could not be booted: panic")


def test_an_expected_incompatibility_shows_the_recorded_and_the_observed_reason() -> None:
    cell = cell_for(build_failure(), a_scenario({"7.2": RECORDED}), "7.2")
    assert cell.reason.startswith("7.2 moved name into an anonymous struct (observed build: ")
    assert "no member named 'name' in 'struct filename'" in cell.reason


def test_a_compile_failure_is_reported_by_the_compilers_first_error() -> None:
    cell = cell_for(build_failure(), a_scenario(), "7.2")
    assert cell.reason.startswith("build: error: no member named 'name' in 'struct filename'")
    assert "did you mean 'iname'?" in cell.reason


def test_a_verifier_rejection_is_reported_by_its_last_error_lines() -> None:
    log = ("libbpf: prog 'handle': BPF program load failed: Permission denied\n"
           "libbpf: prog 'handle': -- BEGIN PROG LOAD LOG --\n0: (b7) r0 = 0\n"
           "R1 invalid mem access 'scalar'\nprocessed 3 insns\n"
           "libbpf: prog 'handle': failed to load: -13\n"
           "libbpf: failed to load object 'x.bpf.o'\n")
    outcome = Outcome("demo", stage="load", logs={"load": log},
                      message=f"`ecli run x.bpf.o` exited before it was ready; its output:\n{log}")
    reason = cause_of(outcome)
    assert reason.startswith("libbpf: prog 'handle': failed to load: -13 / "
                             "libbpf: failed to load object 'x.bpf.o'")


def test_a_bcc_script_failure_is_reported_by_its_exception() -> None:
    log = ("Traceback (most recent call last):\n  File \"x.py\", line 9, in <module>\n"
           "Exception: Failed to attach BPF program b'printarg' to uprobe b'func'\n")
    outcome = Outcome("demo", stage="load", logs={"load": log}, message="exited before ready")
    assert cause_of(outcome).startswith("Exception: Failed to attach BPF program b'printarg'")


def test_an_expectation_failure_names_the_expectation_and_the_closest_line() -> None:
    expectation = Expectation("ENTRY then EXIT", "unlinks", ("KPROBE EXIT: pid = ${pid}",))
    problem = ("{pid='7'}: no line matches 'KPROBE EXIT: pid = 7'; lines of that shape: "
               "KPROBE EXIT: pid = 8, ret = 0")
    outcome = Outcome("demo", stage="expect", message="expectations not met",
                      results=[ExpectationResult(expectation, (problem,))])
    assert cause_of(outcome) == f"ENTRY then EXIT: {problem}"


def test_the_reason_keeps_the_cause_even_after_a_long_command() -> None:
    command = "clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -I/usr/include/x86_64-linux-gnu"
    outcome = Outcome("demo", stage="build", logs={"build": BUILD_LOG},
                      message=f"build command `{command}` exited 1:\n{BUILD_LOG}")
    assert "no member named 'name' in 'struct filename'" in cell_for(outcome, a_scenario(),
                                                                     "7.2").reason


def test_a_build_that_fails_without_a_compiler_error_is_reported_by_its_last_line() -> None:
    outcome = Outcome("demo", stage="build", logs={"build": "sh: 1: no-such-compiler: not found\n"},
                      message="build command `no-such-compiler -c x.c` exited 127:\n")
    assert cause_of(outcome) == ("sh: 1: no-such-compiler: not found "
                                 "(build command `no-such-compiler -c x.c` exited 127)")


def test_a_passing_program_whose_document_drifts_gets_its_own_verdict() -> None:
    from lab.verdicts.findings import Finding
    from lab.verdicts.verdict import DRIFT

    drift = Finding("bpf/demo/README.md", 145, "output-drift",
                    "documented `KPROBE EXIT: ret = 0`; observed `KPROBE EXIT: pid = 12, ret = 0`")
    note = Finding("bpf/demo/README.md", 20, "truncated", "cut at the terminal's width")
    outcome = Outcome("demo", stage="expect", passed=True, document=[drift, note])
    cell = cell_for(outcome, a_scenario(), "6.1")

    assert cell.verdict == DRIFT
    assert not cell.ok
    assert cell.stage == "document"
    assert cell.reason.startswith("document: 1 drift(s): bpf/demo/README.md:145 output-drift")
    assert [f["line"] for f in cell.findings] == [145, 20]
    warned_only = Outcome("demo", stage="expect", passed=True, document=[note])
    assert cell_for(warned_only, a_scenario(), "6.1").verdict == PASS
