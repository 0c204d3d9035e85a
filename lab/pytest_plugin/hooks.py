"""Hooks: the --kernel option, parametrization by scenario x kernel, the report and
the summary, and SIGTERM handled like Ctrl-C while guests may be running."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from lab import interrupts
from lab.cache.catalog import KernelLine, LockedKernel, load_catalog, load_lock
from lab.cache.userlands import find_userlands
from lab.errors import LabError
from lab.guestvm.flavor import grouped
from lab.kernel_choice import parse_kernels
from lab.pytest_plugin.markers import check_unique, register, series_marks
from lab.pytest_plugin.verdict import CELLS, REPORT_DIR, judge_not_runnable
from lab.scenario import Scenario, chosen_scenarios, load_scenarios
from lab.scenario.series import chosen_series
from lab.scenario.shards import in_shard, parse_shard, skipped
from lab.settings import Settings
from lab.verdicts.matrix_report import write_run

SETTINGS = pytest.StashKey[Settings]()
KERNELS = pytest.StashKey[list[str]]()  # the lines' names, checked against the lock
LOCKED = pytest.StashKey[dict[str, LockedKernel]]()  # their lock entries, for KernelLab
SCENARIOS = pytest.StashKey[list[Scenario]]()
ALL_SCENARIOS = pytest.StashKey[list[Scenario]]()
SUMMARY = pytest.StashKey[list[str]]()
PREVIOUS_HANDLERS = pytest.StashKey[dict[int, interrupts.Handler]]()
STOPPER = pytest.StashKey[interrupts.StopOnce]()
DEFAULT_USERLAND = pytest.StashKey[str]()  # what a scenario naming none runs on


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ebpf-lab")
    group.addoption("--kernel", action="append", default=[], metavar="LINE",
                    help="kernel line(s) to boot, e.g. 6.1 (repeat or comma-separate; 'all')")
    group.addoption("--scenario", action="append", default=[], metavar="NAME",
                    help="run only these scenarios (repeat or comma-separate; default: all)")
    group.addoption("--series", action="append", default=[], metavar="NAME",
                    help="run only the scenarios of these tutorial series (repeat or "
                         "comma-separate); each series is also a marker, for -m")
    group.addoption("--shard", default=None, metavar="K/N",
                    help="run only the tutorials of shard K of N, counted from 1: a "
                         "tutorial's shard depends on its name alone (lab.scenario.shards)")
    group.addoption("--skip-scenario", action="append", default=[], metavar="NAME",
                    help="leave these scenarios out (repeat or comma-separate): the ones "
                         "another job of the same run judges")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lab_scenarios(*names): run this test on these scenarios only"
    )
    config.stash[SUMMARY] = []
    requested = config.getoption("kernel")
    if not requested:
        config.stash[KERNELS] = []
        return
    try:
        settings = Settings.from_env(cwd=config.rootpath)
        known = load_catalog(settings.catalog_file)
        by_line = {kernel.line: kernel for kernel in _kernels(requested, known, settings)}
        config.stash[LOCKED] = by_line
        config.stash[KERNELS] = list(by_line)
        # here, not in pytest_generate_tests, where any error is a collection traceback
        scenarios = load_scenarios(settings.scenarios_dir, known.keys())
        config.stash[ALL_SCENARIOS] = scenarios
        config.stash[SCENARIOS] = _selected(config, scenarios)
        register(config, scenarios)  # a marker per series, for -m
        userlands = find_userlands(settings.recipe_file)
        userlands.check(scenarios)  # before anything boots
        config.stash[DEFAULT_USERLAND] = userlands.default
    except LabError as error:
        raise pytest.UsageError(str(error)) from error
    config.stash[SETTINGS] = settings
    config.stash[REPORT_DIR] = settings.output
    config.stash[STOPPER] = interrupts.StopOnce()
    config.stash[PREVIOUS_HANDLERS] = interrupts.install(config.stash[STOPPER])


def _selected(config: pytest.Config, scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios --scenario, --series, --shard and --skip-scenario leave: each applies."""
    shard = config.getoption("shard")
    chosen = chosen_series(chosen_scenarios(scenarios, config.getoption("scenario")),
                           config.getoption("series"))
    chosen = in_shard(chosen, parse_shard(shard) if shard is not None else None)
    return skipped(chosen, config.getoption("skip_scenario"), scenarios)


def _kernels(requested: list[str], catalog: dict[str, KernelLine],
             settings: Settings) -> list[LockedKernel]:
    """--kernel's lines as the lock's entries (lab.kernel_choice), before any use."""
    lock = load_lock(settings.lock_file)
    try:
        return parse_kernels(requested, catalog, lock)
    except LabError as error:
        raise LabError(f"--kernel: {error}") from error


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give back the signal handlers pytest_configure replaced (pytester runs nest)."""
    interrupts.restore(config.stash.get(PREVIOUS_HANDLERS, {}))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per (kernel, scenario), id `<kernel>-<scenario>`, one VM per kernel."""
    if "lab_scenario" not in metafunc.fixturenames:
        return
    kernels = metafunc.config.stash[KERNELS]
    if not kernels:  # reported as a usage error once collection is over
        metafunc.parametrize(["lab_kernel", "lab_scenario"], [(None, None)], ids=["no-kernel"])
        return
    scenarios = metafunc.config.stash[SCENARIOS]
    marker = metafunc.definition.get_closest_marker("lab_scenarios")
    if marker:
        unknown = set(marker.args) - {s.name for s in metafunc.config.stash[ALL_SCENARIOS]}
        if unknown:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: no scenario {sorted(unknown)}")
        scenarios = [s for s in scenarios if s.name in marker.args]
    check_unique(metafunc.config, metafunc.config.stash[ALL_SCENARIOS])
    pairs = [pytest.param(kernel, scenario, marks=series_marks(scenario),
                          id=f"{kernel}-{scenario.name}")
             for kernel in kernels for scenario in scenarios]
    metafunc.parametrize(["lab_kernel", "lab_scenario"], pairs, indirect=["lab_kernel"],
                         scope="session")


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by the kernel line
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that boot guests need --kernel: say so plainly instead of skipping them.
    With it, each line's scenarios of one guest flavor run one after the other."""
    if config.stash[KERNELS]:
        items[:] = grouped(items, _line_and_flavor)
        return
    needing = [item for item in items if "lab_scenario" in getattr(item, "fixturenames", ())]
    if needing:
        test = needing[0].nodeid.split("[")[0]
        raise pytest.UsageError(f"{test} boots guests: pass --kernel LINE "
                                "(e.g. --kernel 6.1), or run tests/unit only")


def _line_and_flavor(item: pytest.Item) -> tuple[Hashable, ...] | None:
    """A test of a scenario on a line: its line and the scenario's guest flavor."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    scenario = params.get("lab_scenario")
    if not isinstance(scenario, Scenario):
        return None
    target = params.get("lab_kernel")
    return target, scenario.flavor_on(target if isinstance(target, str) else None,
                                      item.config.stash.get(DEFAULT_USERLAND, None))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A scenario that declares it cannot run is judged and skipped before its
    fixtures are set up: no guest boots for it. The skip says why, and so does the
    summary."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    scenario, line = params.get("lab_scenario"), params.get("lab_kernel")
    if isinstance(scenario, Scenario) and scenario.not_runnable and isinstance(line, str):
        text = judge_not_runnable(item, scenario, line)
        item.config.stash[SUMMARY].append(f"kernel {line}: {scenario.name} {text}")
        pytest.skip(text)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the compatibility report of the cells this session judged, whatever
    plugins print the summary (the terminal reporter may be off). Each cell was
    written as it was judged already; this is the final word, also after Ctrl-C."""
    config = session.config
    cells = config.stash.get(CELLS, [])
    if not cells:
        return
    md, js = write_run(config.stash[SETTINGS].output, cells)
    config.stash[SUMMARY].append(f"compatibility report: {md} and {js}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The accel and kernel of each line, where the compatibility report went, and
    the signal that stopped the run."""
    config = terminalreporter.config
    stopped = config.stash[STOPPER].describe() if STOPPER in config.stash else None
    lines = config.stash.get(SUMMARY, []) + ([stopped] if stopped else [])
    if lines:
        terminalreporter.write_sep("=", "ebpf-lab")
        for line in lines:
            terminalreporter.write_line(line)
