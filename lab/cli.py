"""The `lab` command: kernels, guest root, host doctor, a shell in a guest, runs."""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
from itertools import product
from pathlib import Path

from lab import interrupts
from lab.arches import ARCHES, arches_named
from lab.cache.apt_sources import debian_mirror
from lab.cache.catalog import LockedKernel, load_catalog, load_lock, write_lock
from lab.cache.kernels import KernelBuild, fetch_kernel, kernel_dir, kernel_problem, resolve_lock
from lab.cache.rootfs import (
    build_rootfs,
    cached_rootfs,
    describe_packages,
    lock_rootfs,
)
from lab.cache.userlands import find_userlands
from lab.cli_ci import add_ci_commands, report_against_plan
from lab.cli_docs import add_docs_commands
from lab.cli_series import add_series_commands
from lab.doctor import doctor
from lab.errors import LabError
from lab.guest_text import visible
from lab.guestvm.flavor import in_flavor_order
from lab.guestvm.session import KernelLab, guest_spec, prepare
from lab.guestvm.vng_command import vng_command
from lab.kernel_choice import KernelArgument, parse_kernels
from lab.matrix import merge_files, run_matrix
from lab.scenario import Scenario, chosen_scenarios, load_scenarios
from lab.scenario.series import chosen_series
from lab.schedule import AUTO, parse_jobs
from lab.settings import Settings
from lab.verdicts.expectation import Recorded
from lab.verdicts.matrix_report import markdown
from lab.verdicts.outcome import Outcome
from lab.verdicts.report import failure_text, summary_line
from lab.verdicts.verdict import cell_for, not_run


def main(argv: list[str] | None = None) -> int:
    """Run one command. Kernel lines are parsed with the arguments (KernelArgument);
    SIGTERM and SIGHUP (a closed terminal) stop a command as Ctrl-C does, so its
    guest is powered off on the way out (lab.interrupts)."""
    settings = functools.cache(Settings.from_env)
    stopper = interrupts.StopOnce()
    previous = interrupts.install(stopper)
    try:
        args = _parser(KernelArgument(settings)).parse_args(argv)
        return int(args.handler(args, settings()) or 0)
    except LabError as error:
        print(f"lab: error: {visible(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lab: {stopper.describe() or 'interrupted'}", file=sys.stderr)
        return 130
    finally:
        interrupts.restore(previous)


def _jobs(value: str) -> int:
    """--jobs: auto or a count (lab.schedule), as an argparse type."""
    try:
        return parse_jobs(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser(kernel: KernelArgument) -> argparse.ArgumentParser:
    """kernel: the `type=` of every argument naming a kernel line."""
    parser = argparse.ArgumentParser(prog="lab", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    kernels = commands.add_parser("kernels", help="the kernel catalog and its lock")
    kernel_commands = kernels.add_subparsers(required=True, metavar="ACTION")
    kernel_commands.add_parser("list", help="catalog lines, pins and cache state").set_defaults(
        handler=_kernels_list)
    lock = kernel_commands.add_parser("lock", help="pin lines to the newest published version")
    lock.add_argument("lines", nargs="*", help="lines to re-pin (default: all)")
    lock.set_defaults(handler=_kernels_lock)
    fetch = kernel_commands.add_parser("fetch", help="download, verify and unpack pinned kernels")
    fetch.add_argument("lines", nargs="+", type=kernel)
    fetch.set_defaults(handler=_kernels_fetch)

    rootfs = commands.add_parser("rootfs", help="the guest root filesystem")
    rootfs_commands = rootfs.add_subparsers(required=True, metavar="ACTION")
    rootfs_build = rootfs_commands.add_parser(
        "build", help="build it from vm/rootfs.toml and the scenarios' guest_packages (cached)")
    rootfs_build.add_argument("--list", action="store_true",
                              help="list its packages and what brought each one; build nothing")
    rootfs_build.add_argument("userlands", nargs="*", metavar="USERLAND",
                              help="userlands to build (default: every one a scenario uses)")
    rootfs_build.add_argument("--arch", action="append", default=[], metavar="ARCH",
                              help="for guests of these architectures (default: x86_64)")
    rootfs_build.set_defaults(handler=_rootfs_build)
    rootfs_lock = rootfs_commands.add_parser(
        "lock", help="pin every package of the root to what the suite has now (vm/rootfs.lock)")
    rootfs_lock.add_argument("userlands", nargs="*", metavar="USERLAND",
                             help="userlands to re-pin (default: every one a scenario uses)")
    rootfs_lock.add_argument("--arch", action="append", default=[], metavar="ARCH",
                             help="for guests of these architectures (default: x86_64; each "
                                  "has its own lock, vm/rootfs.arm64.lock)")
    rootfs_lock.set_defaults(handler=_rootfs_lock)

    check = commands.add_parser("doctor", help="check (and as root, install) host packages")
    check.add_argument("--install", action="store_true", help="apt-get install what is missing")
    check.add_argument("--tests", action="store_true",
                       help="check what the unit tests need instead of what the lab needs")
    check.add_argument("--arch", action="append", default=[], metavar="ARCH",
                       help="also what guests of this architecture need here (arm64)")
    check.set_defaults(handler=lambda a, s: doctor(a.install, tests=a.tests,
                                                   arches=[x.name for x in arches_named(a.arch)]))

    prep = commands.add_parser("prepare", help="fetch, build and probe everything a line needs")
    prep.add_argument("--kernel", required=True, type=kernel)
    prep.add_argument("scenarios", nargs="*",
                      help="prepare the guest roots of these scenarios (default: all)")
    prep.set_defaults(handler=_prepare)

    shell = commands.add_parser("shell", help="an interactive shell in a guest")
    shell.add_argument("--kernel", required=True, type=kernel)
    shell.set_defaults(handler=_shell)

    matrix = commands.add_parser("matrix", help="every line x every tutorial, one report")
    matrix.add_argument("lines", nargs="*", type=kernel,
                        help="kernel lines (default: every line of the catalog, on --arch)")
    matrix.add_argument("--arch", action="append", default=[], metavar="ARCH",
                        help="the architectures of the default lines (repeat or "
                             f"comma-separate: {', '.join(ARCHES)}; default: x86_64)")
    matrix.add_argument("--jobs", type=_jobs, default=AUTO, metavar="N|auto",
                        help="lines run at once (default: auto, one per core; the matrix "
                             "says what it chose and why)")
    matrix.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help="only these tutorials (repeat or comma-separate; default: all)")
    matrix.add_argument("--series", action="append", default=[], metavar="NAME",
                        help="only the tutorials of these series (repeat or comma-separate)")
    matrix.set_defaults(handler=_matrix)

    report = commands.add_parser("report", help="merge report columns (JSON) into one table")
    report.add_argument("columns", nargs="*", type=Path, help="lab-report JSON files")
    report.add_argument("--out", type=Path, help="where lab-report.md/.json go")
    report.add_argument("--expect", type=Path, metavar="PLAN.json",
                        help="every cell of this plan (`lab ci plan`) that no column has is "
                             "missing; exit 1 unless every cell agrees with its record")
    report.set_defaults(handler=_report)

    run = commands.add_parser("run", help="run scenarios on a kernel without pytest")
    run.add_argument("--kernel", required=True, type=kernel)
    run.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    run.add_argument("--series", action="append", default=[], metavar="NAME",
                     help="only the tutorials of these series (repeat or comma-separate)")
    run.set_defaults(handler=_run)

    add_docs_commands(commands, kernel)  # lab docs check|verify|extract|accept
    add_series_commands(commands)  # lab series list|table
    add_ci_commands(commands)  # lab ci plan
    return parser


def _kernels_list(args: argparse.Namespace, settings: Settings) -> None:
    catalog = load_catalog(settings.catalog_file)
    lock = load_lock(settings.lock_file) if settings.lock_file.exists() else {}
    for line, entry in catalog.items():
        pinned = lock.get(line)
        if pinned is None:
            print(f"{line:<6} {entry.suite:<10} not locked (run `lab kernels lock`)")
            continue
        build = KernelBuild(pinned.release, kernel_dir(settings.cache, pinned))
        problem = kernel_problem(build, pinned)
        cached = ("cached" if problem is None else "not fetched" if not build.root.exists()
                  else f"to be fetched again: {problem}")
        print(f"{line:<6} {entry.suite:<10} {pinned.package} {pinned.version}  [{cached}]")


def _kernels_lock(args: argparse.Namespace, settings: Settings) -> None:
    catalog = load_catalog(settings.catalog_file)
    refresh_some = bool(args.lines) and settings.lock_file.exists()
    lock = load_lock(settings.lock_file) if refresh_some else {}
    mirror = debian_mirror()
    for line in args.lines or list(catalog):
        if line not in catalog:
            raise LabError(f"{line!r} is not in {settings.catalog_file}")
        lock[line] = resolve_lock(settings.cache, mirror, catalog[line])
        print(f"{line}: {lock[line].package} {lock[line].version}", file=sys.stderr)
    write_lock(settings.lock_file, lock)


def _kernels_fetch(args: argparse.Namespace, settings: Settings) -> None:
    mirror = debian_mirror()
    for kernel in args.lines:
        build = fetch_kernel(settings.cache, mirror, kernel)
        print(f"{kernel.line}: {build.image}")


def _rootfs_build(args: argparse.Namespace, settings: Settings) -> None:
    userlands = find_userlands(settings.recipe_file)
    scenarios = load_scenarios(settings.scenarios_dir, load_catalog(settings.catalog_file).keys())
    locked = load_lock(settings.lock_file).values()
    for userland, arch in product(userlands.chosen(args.userlands, scenarios),
                                  arches_named(args.arch)):
        recipe = userlands.recipe(userland, arch.name)
        kernels = [kernel for kernel in locked if kernel.arch == arch.name]
        if args.list:
            root, problem = cached_rootfs(settings.cache, recipe, kernels, scenarios)
            state = "built" if problem is None else f"to be built: {problem}"
            print(f"{root} ({state}); {recipe.suite} packages and where each comes from:")
            print("\n".join(f"  {line}" for line in describe_packages(recipe, scenarios)))
            continue
        print(build_rootfs(settings.cache, debian_mirror(), recipe, kernels, scenarios))


def _rootfs_lock(args: argparse.Namespace, settings: Settings) -> None:
    userlands = find_userlands(settings.recipe_file)
    scenarios = load_scenarios(settings.scenarios_dir, load_catalog(settings.catalog_file).keys())
    for userland, arch in product(userlands.chosen(args.userlands, scenarios),
                                  arches_named(args.arch)):
        lock = lock_rootfs(settings.cache, debian_mirror(), userlands.recipe(userland, arch.name),
                           scenarios)
        print(f"{lock.path}: {len(lock.packages)} packages of {lock.suite} pinned",
              file=sys.stderr)


def _prepare(args: argparse.Namespace, settings: Settings) -> None:
    scenarios = _selected(settings, args.scenarios, args.kernel.line)
    prepared = prepare(settings, args.kernel, scenarios)
    roots = ", ".join(f"{root.rootfs.name} ({root.toolchain})" for root in prepared.roots.values())
    print(f"kernel {args.kernel.line}: {prepared.kernel.release}, roots {roots}, "
          f"acceleration {prepared.accel.accel} ({prepared.accel.reason})")


def _selected(settings: Settings, names: list[str], target: str) -> list[Scenario]:
    """The scenarios named (default: all), each naming a known userland, in flavor
    order on this kernel target: the ones sharing a guest run one after the other."""
    scenarios = chosen_scenarios(load_scenarios(settings.scenarios_dir,
                                                load_catalog(settings.catalog_file).keys()),
                                 names)
    userlands = find_userlands(settings.recipe_file)
    userlands.check(scenarios)
    return in_flavor_order(scenarios, target, userlands.default)


def _shell(args: argparse.Namespace, settings: Settings) -> int:
    prepared = prepare(settings, args.kernel)
    work = settings.output / "shell" / args.kernel.line
    work.mkdir(parents=True, exist_ok=True)
    print(f"kernel {prepared.kernel.release} under {prepared.accel.accel}; {work} is /lab in the "
          "guest; leave with `echo o > /proc/sysrq-trigger` or Ctrl-a x", file=sys.stderr)
    command = vng_command(guest_spec(prepared, work))
    return subprocess.run(command, env=os.environ.copy(), check=False).returncode


def _matrix(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_catalog(settings.catalog_file)
    kernels: list[LockedKernel] = args.lines or parse_kernels(
        ["all"], catalog, load_lock(settings.lock_file), arches_named(args.arch))
    scenarios = chosen_series(chosen_scenarios(load_scenarios(settings.scenarios_dir,
                                                              catalog.keys()), args.scenario),
                              args.series)
    cells = run_matrix(settings, kernels, args.jobs,
                       [s.name for s in scenarios] if args.scenario or args.series else ())
    print(markdown(cells))
    expected_cells = len(kernels) * len(scenarios)
    return 0 if len(cells) == expected_cells and all(c.ok for c in cells) else 1


def _report(args: argparse.Namespace, settings: Settings) -> int:
    if args.expect:  # a sharded run's columns: what no job reported is shown missing
        return report_against_plan(args.columns, args.expect, args.out or settings.output)
    if not args.columns:
        raise LabError("lab report: name the columns to merge (COLUMN.json...), or a plan "
                       "with --expect")
    print(merge_files(args.columns, args.out or settings.output))
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    scenarios = _selected(settings, args.scenarios, args.kernel.line)
    scenarios = chosen_series(scenarios, args.series)
    line = args.kernel.line
    # a scenario that declares it cannot run is judged without a guest: none boots for it
    not_runnable = [s for s in scenarios if s.not_runnable]
    failed = sum(not _judged(not_run(s), s, line) for s in not_runnable)
    scenarios = [s for s in scenarios if not s.not_runnable]
    if not_runnable and not scenarios:
        return 1 if failed else 0
    with KernelLab(settings, args.kernel, scenarios=scenarios) as lab:
        lab.prebuild(scenarios)
        for scenario in scenarios:
            failed += not _judged(lab.run(scenario), scenario, line)
    return 1 if failed else 0


def _judged(outcome: Outcome, scenario: Recorded, line: str) -> bool:
    """Print the cell's verdict (the one pytest and the matrix give) and, for a
    failure, what went wrong; whether the cell agrees with the scenario."""
    cell = cell_for(outcome, scenario, line)
    print(summary_line(outcome, cell), flush=True)
    if not cell.ok and not outcome.passed:
        print(failure_text(outcome, line), file=sys.stderr)
    return cell.ok


if __name__ == "__main__":
    sys.exit(main())
