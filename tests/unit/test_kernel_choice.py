"""A kernel line a user names becomes the lock's entry, or an error naming the known
lines, before it can become a path (lab.kernel_choice, lab.cache.catalog.locked_line)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lab.cache.catalog import KernelLine, LockedKernel, load_catalog, load_lock, locked_line
from lab.errors import LabError
from lab.kernel_choice import KernelArgument, choose_kernel, parse_kernels
from lab.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
KNOWN = ["6.1", "6.6", "6.12"]
CATALOG = {line: KernelLine(line, "suite", "image", "release", (), ()) for line in KNOWN}
LOCK = {line: LockedKernel(line, "suite", "release", "1", (), ()) for line in KNOWN}


def names(kernels: list[LockedKernel]) -> list[str]:
    return [kernel.line for kernel in kernels]


@pytest.mark.parametrize(("values", "expected"), [
    (["6.1"], ["6.1"]),
    (["6.1", "6.12"], ["6.1", "6.12"]),
    (["6.12,6.1"], ["6.12", "6.1"]),
    ([" 6.1 , 6.6 "], ["6.1", "6.6"]),
    (["6.1,,", ""], ["6.1"]),
    (["all"], KNOWN),
    (["6.12", "all"], ["6.12", "6.1", "6.6"]),
    (["6.1,6.1", "6.1"], ["6.1"]),
    (["all,6.6", "all"], KNOWN),
    ([], []),
], ids=["one", "repeat", "comma-list", "spaces", "empty-parts", "all", "all-after-one",
        "dedupe", "all-twice", "none"])
def test_parse_kernels(values: list[str], expected: list[str]) -> None:
    kernels = parse_kernels(values, CATALOG, LOCK)
    assert names(kernels) == expected
    assert all(kernel is LOCK[kernel.line] for kernel in kernels), "the lock's own entries"


def test_every_unknown_line_is_named_with_the_known_ones() -> None:
    with pytest.raises(LabError) as info:
        parse_kernels(["6.1,5.10", "4.19"], CATALOG, LOCK)
    assert str(info.value) == ("no kernel line '5.10' in the catalog (known: 6.1, 6.6, 6.12); "
                               "no kernel line '4.19' in the catalog (known: 6.1, 6.6, 6.12)")


@pytest.mark.parametrize("text", [
    "../../victim", "/tmp/victim", "6.1/../../x", "..", ".", "", "6.1/", " 6.1", "6.1\n",
    "~", "$HOME",
])
def test_a_path_is_not_a_kernel_line(text: str) -> None:
    with pytest.raises(LabError, match=r"no kernel line .* in the catalog \(known: 6.1, 6.6"):
        locked_line(text, CATALOG, LOCK)


def test_a_catalog_line_without_a_pin_says_how_to_pin_it() -> None:
    lock = {line: entry for line, entry in LOCK.items() if line != "6.6"}
    with pytest.raises(LabError) as info:
        locked_line("6.6", CATALOG, lock)
    assert str(info.value) == ("kernel line '6.6' is in the catalog but not pinned in the "
                               "lock: run `lab kernels lock 6.6`")


def test_a_line_pinned_but_dropped_from_the_catalog_is_refused() -> None:
    catalog = {line: entry for line, entry in CATALOG.items() if line != "6.12"}
    with pytest.raises(LabError, match="no kernel line '6.12' in the catalog"):
        locked_line("6.12", catalog, LOCK)


def project_settings(tmp_path: Path) -> Settings:
    return Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                    accel="tcg")


def test_choose_kernel_reads_the_projects_catalog_and_lock(tmp_path: Path) -> None:
    kernel = choose_kernel(project_settings(tmp_path), "6.1")
    assert kernel == load_lock(PROJECT / "vm" / "kernels.lock")["6.1"]


def test_the_argparse_type_gives_the_entry_or_a_usage_error(tmp_path: Path) -> None:
    reads: list[int] = []

    def settings() -> Settings:
        reads.append(1)
        return project_settings(tmp_path)

    parser = argparse.ArgumentParser(prog="lab", exit_on_error=False)
    parser.add_argument("--kernel", type=KernelArgument(settings))
    parser.add_argument("lines", nargs="*", type=KernelArgument(settings))

    args = parser.parse_args(["--kernel", "6.1", "6.12"])
    assert args.kernel == choose_kernel(project_settings(tmp_path), "6.1")
    assert names(args.lines) == ["6.12"]
    assert len(reads) == 2, "each argument's type read the files once"
    known = ", ".join(load_catalog(PROJECT / "vm" / "kernels.toml"))
    with pytest.raises(argparse.ArgumentError) as info:
        parser.parse_args(["--kernel", "../../victim"])
    assert str(info.value) == (f"argument --kernel: no kernel line '../../victim' in the "
                               f"catalog (known: {known})")
