"""Tests for lab.cache.build_cache: a build's key changes with each thing it is made
from and with nothing else, and a stored build comes back only as it was stored."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab.cache.build_cache import (
    BUILDS,
    BuildCache,
    BuildInputs,
    source_digests,
    toolchain_digest,
)
from lab.errors import LabError
from lab.guestvm import guest_files
from lab.guestvm.console import CommandResult
from lab.guestvm.runner import ScenarioRunner
from lab.scenario import load_scenarios

PROJECT = Path(__file__).resolve().parents[2]

SOURCES = {
    "minimal.bpf.c": b"SEC(\"tp/syscalls/sys_enter_write\")\nint handle(void *ctx) { return 0; }\n",
    "Makefile": b"all:\n\tclang -target bpf -c minimal.bpf.c\n",
    "include/helpers.h": b"#define X 1\n",
    "include/deeper/more.h": b"#define Y 2\n",
}


@pytest.fixture
def program(tmp_path: Path) -> Path:
    root = tmp_path / "bpf" / "minimal"
    for relative, content in SOURCES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    return root


def inputs_of(program: Path) -> BuildInputs:
    return BuildInputs(sources=source_digests(program), commands=("make",),
                       vmlinux_h="vmlinux.h", release="6.1.0-99-amd64",
                       kernel_btf="b" * 64, toolchain="t" * 64,
                       tools={"ecc.py": "e" * 64, "ecc": "w" * 64})


# --- the key -------------------------------------------------------------------

def change_byte(program: Path) -> None:
    path = program / "minimal.bpf.c"
    path.write_bytes(path.read_bytes().replace(b"return 0", b"return 1"))


def change_nested_byte(program: Path) -> None:
    (program / "include" / "deeper" / "more.h").write_bytes(b"#define Y 3\n")


def add_file(program: Path) -> None:
    (program / "include" / "new.h").write_bytes(b"")


def remove_file(program: Path) -> None:
    (program / "Makefile").unlink()


def rename_file(program: Path) -> None:
    (program / "include" / "helpers.h").rename(program / "include" / "helpers2.h")


def move_file(program: Path) -> None:
    (program / "include" / "helpers.h").rename(program / "helpers.h")


def add_link(program: Path) -> None:
    (program / "alias.h").symlink_to("include/helpers.h")


SOURCE_CHANGES: list[Callable[[Path], None]] = [
    change_byte, change_nested_byte, add_file, remove_file, rename_file, move_file, add_link,
]


@pytest.mark.parametrize("change", SOURCE_CHANGES, ids=lambda change: change.__name__)
def test_any_change_to_the_sources_changes_the_key(program: Path,
                                                   change: Callable[[Path], None]) -> None:
    before = inputs_of(program).key()
    change(program)
    assert inputs_of(program).key() != before


@pytest.mark.parametrize(("field", "value"), [
    ("commands", ("make", "make install")),
    ("commands", ("make V=1",)),
    ("commands", ()),
    ("commands", ("ma", "ke")),
    ("vmlinux_h", None),
    ("vmlinux_h", ".output/vmlinux.h"),
    ("release", "6.1.0-100-amd64"),
    ("kernel_btf", "c" * 64),
    ("toolchain", "u" * 64),
    ("tools", {"ecc.py": "f" * 64, "ecc": "w" * 64}),
    ("tools", {"ecc.py": "e" * 64, "ecc": "w" * 64, "ecli.py": "l" * 64}),
    ("tools", {}),
])
def test_any_other_input_changes_the_key(program: Path, field: str, value: Any) -> None:
    inputs = inputs_of(program)
    assert dataclasses.replace(inputs, **{field: value}).key() != inputs.key()


def test_the_key_is_stable_for_the_same_inputs(program: Path, tmp_path: Path) -> None:
    key = inputs_of(program).key()
    assert len(key) == 64 and int(key, 16) >= 0
    assert inputs_of(program).key() == key
    # the same sources elsewhere, written in another order, give the same key
    other = tmp_path / "elsewhere" / "minimal"
    for relative, content in reversed(SOURCES.items()):
        (other / relative).parent.mkdir(parents=True, exist_ok=True)
        (other / relative).write_bytes(content)
    assert inputs_of(other).key() == key
    # touching a file (same bytes) and adding an empty directory change nothing
    (program / "Makefile").write_bytes(SOURCES["Makefile"])
    (program / "empty").mkdir()
    assert inputs_of(program).key() == key
    reordered = dict(reversed(list(inputs_of(program).sources.items())))
    assert dataclasses.replace(inputs_of(program), sources=reordered).key() == key


def test_source_digests_cover_nested_files_by_relative_path(program: Path) -> None:
    digests = source_digests(program)
    assert digests == {relative: hashlib.sha256(content).hexdigest()
                       for relative, content in SOURCES.items()}


def test_a_link_is_keyed_by_the_bytes_a_copy_of_the_directory_holds(program: Path,
                                                                    tmp_path: Path) -> None:
    (program / "link.h").symlink_to("include/helpers.h")
    (program / "include" / "chain.h").symlink_to("../link.h")
    copy = tmp_path / "copy"
    shutil.copytree(program, copy)  # as the lab stages the sources for the guest
    assert not (copy / "link.h").is_symlink()

    assert source_digests(program) == source_digests(copy), "the key is not the copy's"
    before = inputs_of(program).key()
    (program / "link.h").unlink()
    (program / "link.h").symlink_to("include/deeper/more.h")
    assert inputs_of(program).key() != before


def link_out_absolute(program: Path, outside: Path) -> None:
    (program / "shadow.h").symlink_to(outside)


def link_out_relative(program: Path, outside: Path) -> None:
    (program / "include" / "up.h").symlink_to(os.path.relpath(outside, program / "include"))


def link_out_through_a_link(program: Path, outside: Path) -> None:
    (program / "hop.h").symlink_to(outside)
    (program / "include" / "via.h").symlink_to("../hop.h")


def link_out_through_a_directory_link(program: Path, outside: Path) -> None:
    (program / "etc").symlink_to(outside.parent)


def link_dangling(program: Path, outside: Path) -> None:
    (program / "dangling.h").symlink_to("no/such/file.h")


def link_to_a_directory_inside(program: Path, outside: Path) -> None:
    (program / "dirlink").symlink_to("include")


def special_file(program: Path, outside: Path) -> None:
    os.mkfifo(program / "pipe")


REFUSED: list[Callable[[Path, Path], None]] = [
    link_out_absolute, link_out_relative, link_out_through_a_link,
    link_out_through_a_directory_link, link_dangling, link_to_a_directory_inside, special_file,
]


@pytest.mark.parametrize("plant", REFUSED, ids=lambda plant: plant.__name__)
def test_what_a_copy_would_not_take_as_the_directorys_own_bytes_is_refused(
        program: Path, tmp_path: Path, plant: Callable[[Path, Path], None]) -> None:
    outside = tmp_path / "host" / "shadow"  # a host file, as /etc/shadow would be
    outside.parent.mkdir()
    outside.write_bytes(b"root:$6$secret:19000:0:99999:7:::\n")
    plant(program, outside)
    with pytest.raises(LabError, match="tutorial's directory"):
        source_digests(program)


def test_toolchain_digest_is_the_sha256_of_dpkg_status(tmp_path: Path) -> None:
    status = tmp_path / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    status.write_bytes(b"Package: clang-16\nVersion: 1:16.0.6-15\n")
    first = toolchain_digest(tmp_path)
    assert first == hashlib.sha256(status.read_bytes()).hexdigest()
    status.write_bytes(b"Package: clang-16\nVersion: 1:16.0.6-16\n")
    assert toolchain_digest(tmp_path) != first


# --- the store -----------------------------------------------------------------

KEY = "k" * 64
TAR = b"build/minimal.bpf.o\0" + bytes(range(256)) * 8


def stored(tmp_path: Path) -> BuildCache:
    cache = BuildCache(tmp_path / "cache")
    cache.store(KEY, TAR, {"scenario": "minimal", "build_log": "clang ... ok\n"})
    return cache


def test_a_stored_build_is_looked_up_with_its_log(tmp_path: Path) -> None:
    cache = stored(tmp_path)
    tar = cache.lookup(KEY)
    assert tar == tmp_path / "cache" / BUILDS / f"{KEY}.tar"
    assert tar.read_bytes() == TAR
    assert cache.build_log(KEY) == "clang ... ok\n"
    record = json.loads((tar.with_suffix(".json")).read_text())
    assert record == {"scenario": "minimal", "build_log": "clang ... ok\n",
                      "sha256": hashlib.sha256(TAR).hexdigest(), "size": len(TAR)}
    # written beside the target and renamed: no temporary file is left
    assert sorted(p.name for p in cache.root.iterdir()) == [f"{KEY}.json", f"{KEY}.tar"]


def test_an_unknown_key_is_not_found(tmp_path: Path) -> None:
    cache = stored(tmp_path)
    assert cache.lookup("0" * 64) is None
    assert cache.build_log("0" * 64) == ""
    assert BuildCache(tmp_path / "empty").lookup(KEY) is None


def test_storing_again_replaces_the_entry(tmp_path: Path) -> None:
    cache = stored(tmp_path)
    cache.store(KEY, b"other tar", {"build_log": "second"})
    tar = cache.lookup(KEY)
    assert tar is not None and tar.read_bytes() == b"other tar"
    assert cache.build_log(KEY) == "second"


@pytest.mark.parametrize("damage", ["one byte", "truncated", "appended", "emptied"])
def test_a_tar_changed_after_storing_is_not_returned_and_is_removed(tmp_path: Path,
                                                                     damage: str) -> None:
    cache = stored(tmp_path)
    tar = cache.root / f"{KEY}.tar"
    data = {"one byte": TAR[:100] + bytes([TAR[100] ^ 1]) + TAR[101:],
            "truncated": TAR[:-1], "appended": TAR + b"\0", "emptied": b""}[damage]
    tar.write_bytes(data)
    assert cache.lookup(KEY) is None
    assert not tar.exists() and not (cache.root / f"{KEY}.json").exists()
    assert cache.build_log(KEY) == ""


@pytest.mark.parametrize("record", [b"", b"{not json", b"\xff\xfe", b"[1, 2]", b'"a string"',
                                    b'{"size": 3}', b'{"sha256": null}'])
def test_a_malformed_record_gives_none(tmp_path: Path, record: bytes) -> None:
    cache = stored(tmp_path)
    (cache.root / f"{KEY}.json").write_bytes(record)
    assert cache.lookup(KEY) is None
    assert cache.build_log(KEY) == ""


def test_a_build_without_its_record_or_its_tar_is_not_found(tmp_path: Path) -> None:
    cache = stored(tmp_path)
    (cache.root / f"{KEY}.json").unlink()
    assert cache.lookup(KEY) is None
    cache = stored(tmp_path)
    (cache.root / f"{KEY}.tar").unlink()
    assert cache.lookup(KEY) is None


@pytest.mark.parametrize("log", [None, 3, ["a"], {"a": "b"}])
def test_a_build_log_that_is_not_text_reads_as_empty(tmp_path: Path, log: object) -> None:
    cache = BuildCache(tmp_path / "cache")
    about: dict[str, object] = {} if log is None else {"build_log": log}
    cache.store(KEY, TAR, about)
    assert cache.lookup(KEY) is not None
    assert cache.build_log(KEY) == ""


# --- the lab's guest tools are in the key ------------------------------------------

class KeyOnlyConsole:
    """Answers the runner's setup: the kernel's BTF digest, no programs loaded."""

    def check(self, command: str, timeout: float) -> str:
        return "b" * 64 + "  /sys/kernel/btf/vmlinux\n"

    def run(self, command: str, timeout: float) -> CommandResult:
        return CommandResult(0, "0\n")


class KeyOnlyVM(KeyOnlyConsole):
    """The guest as far as a build key needs it (lab.guestvm.guest.Guest)."""

    release = "6.1.0-99-amd64"


def key_with_guest_tools(tools: Path, program: Path, run_dir: Path,
                         monkeypatch: pytest.MonkeyPatch) -> str:
    """The runner's key of a build of program, the lab's guest tools read from tools."""
    monkeypatch.setattr(guest_files.resources, "files", lambda package: tools)
    (run_dir / "ro").mkdir(parents=True)
    runner = ScenarioRunner(KeyOnlyVM(), program.parent, {}, run_dir,  # type: ignore[arg-type]
                            run_dir / "ro", BuildCache(run_dir / "cache"), "t" * 64)
    scenario = dataclasses.replace(load_scenarios(PROJECT / "scenarios")[0],
                                   program=program.name, build=("ecc prog.bpf.c",))
    return runner.build_key(scenario)


@pytest.mark.parametrize("tool", guest_files.MODULES)
def test_a_change_to_any_guest_tool_changes_the_key(program: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tool: str) -> None:
    shipped = PROJECT / "lab" / "in_guest"
    changed = tmp_path / "changed-tools"
    shutil.copytree(shipped, changed)
    (changed / tool).write_bytes((changed / tool).read_bytes() + b"\n# a fix\n")

    before = key_with_guest_tools(shipped, program, tmp_path / "run-1", monkeypatch)
    assert key_with_guest_tools(shipped, program, tmp_path / "run-2", monkeypatch) == before
    assert key_with_guest_tools(changed, program, tmp_path / "run-3", monkeypatch) != before, \
        f"a build made with the old {tool} would be reused"
