"""Set-up and tear-down around the loader, one-shot tools and loaders stopped with
Ctrl-C, run by the scenario runner against a fake guest (tests/support/fake_guest.py)."""

from __future__ import annotations

from pathlib import Path

from fake_guest import Answer, FakeGuest, Loader

from lab.guestvm.runner import ScenarioRunner
from lab.guestvm.workspace import RO_DIR, SHARE_DIR
from lab.scenario import load_scenario
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage

SERVER_PID = 5151  # what the fake gives a step that records its pid


def run(tmp_path: Path, scenario: str, loader: Loader, *,
        rules: dict[str, Answer] | None = None) -> tuple[Outcome, FakeGuest]:
    project = tmp_path / "project"
    (project / "bpf" / "demo").mkdir(parents=True)
    (project / "bpf" / "demo" / "prog.c").write_text("int x;\n")
    (project / "scenarios").mkdir()
    path = project / "scenarios" / "demo.toml"
    path.write_text('summary = "demo"\n[build]\ncommands = ["cc -c prog.c"]\n' + scenario)
    run_dir = tmp_path / "run"
    (run_dir / SHARE_DIR).mkdir(parents=True)
    (run_dir / RO_DIR).mkdir()
    guest = FakeGuest(run_dir / SHARE_DIR)
    guest.loader = loader
    for pattern, answer in (rules or {}).items():
        guest.on(pattern, answer)
    runner = ScenarioRunner(guest, project, {}, run_dir, run_dir / RO_DIR, None, "t" * 64)
    return runner.run(load_scenario(path)), guest


def ran(guest: FakeGuest, text: str) -> list[str]:
    return [command for command in guest.commands if text in command]


SERVED = """
[[setup]]
run = "ip link set lo up"

[[setup]]
run = "server --port 8000 &"
record = "server"

[load]
command = "tool -p ${server.pid}"
ready = '^tracing$'
capture = "output"
settle_timeout = 5

[[workload]]
run = "client"
record = "clients"
vars = { server = "${server.pid}" }

[[expect]]
summary = "the server's pid is traced"
for_each = "server"
lines = ['^served by ${pid}$']

[[teardown]]
run = "ip link set lo down"
"""


def test_set_up_runs_before_the_loader_and_its_records_fill_the_load_command(
        tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, SERVED, Loader(output=f"tracing\nserved by {SERVER_PID}\n"))

    assert outcome.passed, outcome.message
    setup, load = ran(guest, "ip link set lo up")[0], ran(guest, "tool -p")[0]
    assert guest.commands.index(setup) < guest.commands.index(load)
    assert load.startswith(f"tool -p {SERVER_PID} >")
    assert outcome.records["clients"][0]["server"] == str(SERVER_PID)
    assert "setup" in outcome.timings


def test_the_set_up_s_jobs_end_and_the_tear_down_runs_after_the_loader_stopped(
        tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, SERVED, Loader(output="tracing\nserved by 1\n"))

    assert outcome.stage == Stage.EXPECT  # a failed cell is torn down all the same
    killed, down = ran(guest, f"kill -KILL {SERVER_PID}"), ran(guest, "ip link set lo down")
    assert killed and down
    assert guest.commands.index(killed[0]) < guest.commands.index(down[0])
    assert guest.commands.index(ran(guest, "kill -TERM")[0]) < guest.commands.index(down[0])


def test_a_failed_set_up_fails_at_setup_and_nothing_is_loaded(tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, SERVED, Loader(output="tracing\n"),
                         rules={"^ip link set lo up$": Answer(status=2, output="no iproute2")})

    assert (outcome.stage, outcome.passed) == (Stage.SETUP, False)
    assert "ip link set lo up" in outcome.message and "no iproute2" in outcome.message
    assert not ran(guest, "tool -p")
    assert ran(guest, "ip link set lo down"), "what the set-up started is undone"


def test_a_failing_tear_down_fails_the_cell_at_cleanup(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, SERVED, Loader(output=f"tracing\nserved by {SERVER_PID}\n"),
                     rules={"^ip link set lo down$": Answer(status=1, output="busy")})

    assert (outcome.passed, outcome.stage) == (False, Stage.CLEANUP)
    assert "tear-down step `ip link set lo down` exited 1: busy" in outcome.message


ONE_SHOT = """
[load]
command = "pktgen"
once = true
capture = "output"
ready_timeout = 30
{status}
[[workload]]
run = "true"
record = "runs"

[[expect]]
summary = "the tool reports its packets"
for_each = "runs"
lines = ['^sent 5 packets$']
"""


def test_a_one_shot_tool_runs_to_completion_and_its_output_is_judged(tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, ONE_SHOT.format(status=""),
                         Loader(output="sent 5 packets\n", running=False))

    assert outcome.passed, outcome.message
    assert not ran(guest, "kill -TERM"), "a finished tool is not stopped"


def test_a_one_shot_tool_that_exits_with_another_status_fails_at_load(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, ONE_SHOT.format(status=""),
                     Loader(output="sent 5 packets\nerror: no device\n", running=False, status=1))

    assert (outcome.passed, outcome.stage) == (False, Stage.LOAD)
    assert "`pktgen` exited 1, not 0" in outcome.message and "no device" in outcome.message


def test_a_one_shot_tool_expected_to_fail_passes_with_that_status(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, ONE_SHOT.format(status="status = 2"),
                     Loader(output="sent 5 packets\n", running=False, status=2))

    assert outcome.passed, outcome.message


def test_a_one_shot_tool_that_never_exits_fails_at_load(tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, ONE_SHOT.format(status=""),
                         Loader(output="sent 5 packets\n", running=True))

    assert (outcome.passed, outcome.stage) == (False, Stage.LOAD)
    assert "`pktgen` did not exit within 30 s" in outcome.message
    assert ran(guest, "kill -TERM"), "the tear-down stops it"


CTRL_C = """
[load]
command = "histogram"
ready = '^Tracing'
capture = "output"
stop = "interrupt"
settle_timeout = 10

[[workload]]
run = "sleeper"
record = "sleepers"

[[expect]]
summary = "the summary printed on Ctrl-C counts the workload"
for_each = "sleepers"
lines = ['^total: 1 sleep by ${pid}$']
"""


def test_a_loader_stopped_with_ctrl_c_is_judged_on_what_it_printed_on_its_way_out(
        tmp_path: Path) -> None:
    outcome, guest = run(tmp_path, CTRL_C, Loader(
        output="Tracing... Hit Ctrl-C to end.\n", on_interrupt=f"total: 1 sleep by {SERVER_PID}\n"))

    assert outcome.passed, outcome.message
    assert ran(guest, "env --default-signal=INT histogram >"), "SIGINT is not ignored by it"
    assert outcome.capture.endswith(f"total: 1 sleep by {SERVER_PID}\n")


def test_a_loader_that_ignores_ctrl_c_fails_at_capture(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, CTRL_C, Loader(output="Tracing...\n", on_interrupt=None))

    assert (outcome.passed, outcome.stage) == (False, Stage.CAPTURE)
    assert "`histogram` did not exit within 10 s" in outcome.message


def test_a_loader_that_exits_badly_on_ctrl_c_fails_at_capture(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, CTRL_C, Loader(output="Tracing...\n", status=130,
                                               on_interrupt=f"total: 1 sleep by {SERVER_PID}\n"))

    assert (outcome.passed, outcome.stage) == (False, Stage.CAPTURE)
    assert "exited 130 after Ctrl-C, not 0" in outcome.message
