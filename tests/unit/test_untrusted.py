"""Reading the guest's share never follows a link the guest could have planted."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lab.guestvm.untrusted
from lab.cache.build_cache import SourceError
from lab.guestvm.untrusted import read_untrusted, read_untrusted_bytes
from lab.guestvm.workspace import Workspace, share_dirs


def test_reads_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "out" / "minimal").mkdir(parents=True)
    (tmp_path / "out" / "minimal" / "load.log").write_text("Running eBPF program...\n")
    assert read_untrusted(tmp_path, "out/minimal/load.log") == "Running eBPF program...\n"


def test_absent_is_empty(tmp_path: Path) -> None:
    assert read_untrusted(tmp_path, "out/minimal/load.log") == ""


def test_a_link_as_the_file_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    share = tmp_path / "share"
    share.mkdir()
    (share / "load.log").symlink_to(secret)
    assert read_untrusted(share, "load.log") == ""


def test_a_link_as_a_directory_is_not_followed(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "load.log").write_text("host file")
    share = tmp_path / "share"
    (share / "out").mkdir(parents=True)
    (share / "out" / "minimal").symlink_to(host)
    assert read_untrusted(share, "out/minimal/load.log") == ""


def test_a_fifo_does_not_block_the_host(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "load.log")
    assert read_untrusted(tmp_path, "load.log") == ""


def test_a_runaway_log_keeps_its_end(tmp_path: Path) -> None:
    (tmp_path / "trace.log").write_text("x" * 100 + "the end")
    assert read_untrusted(tmp_path, "trace.log", limit=7) == "the end"


@pytest.mark.parametrize("relative", ["../x", "out/../../x", "", "./x"])
def test_paths_that_climb_are_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(ValueError):
        read_untrusted(tmp_path, relative)


def test_the_guest_cannot_redirect_where_the_host_keeps_evidence(tmp_path: Path) -> None:
    """The guest plants links where its logs go; the host's copy lands in its own
    evidence directory and the file the links point at is untouched."""
    program = tmp_path / "bpf" / "demo"
    program.mkdir(parents=True)
    (program / "demo.bpf.c").write_text("// program\n")
    project_file = tmp_path / "project-file.py"
    project_file.write_text("original\n")
    run_dir = tmp_path / "runs" / "6.1"
    share, _ = share_dirs(run_dir)
    work = Workspace(run_dir, "demo", program)
    guest_out = share / "out" / "demo"
    guest_out.mkdir(parents=True)
    (guest_out / "load.log").symlink_to(project_file)
    (guest_out / "build.log").write_text("clang ok\n")

    work.keep_logs()
    work.write("failure.txt", "demo failed\n")

    assert project_file.read_text() == "original\n"
    assert (work.evidence / "build.log").read_text() == "clang ok\n"
    assert not (work.evidence / "load.log").exists()
    assert not work.evidence.is_relative_to(share)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names the reader asked os.open for (whether or not the open succeeded)."""
    names: list[str] = []
    real_open = os.open

    def spy(path: object, flags: int, *args: object, **kwargs: object) -> int:
        names.append(os.fsdecode(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lab.guestvm.untrusted.os, "open", spy)
    yield names


def device_like(existing: str) -> Callable[[Path], None]:
    """A char device node with the numbers of an existing one (a guest's mknod)."""
    def make(path: Path) -> None:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.stat(existing).st_rdev)
    return make


PLANTED: dict[str, Callable[[Path], None]] = {
    "fifo": os.mkfifo,
    "null-device": device_like("/dev/null"),
    "tty-device": device_like("/dev/tty"),
    "link": lambda path: path.symlink_to("/etc/hostname"),
    "directory": lambda path: path.mkdir(),
}


@pytest.mark.parametrize("kind", PLANTED)
def test_what_is_not_a_regular_file_is_never_opened(tmp_path: Path, kind: str,
                                                     opened: list[str]) -> None:
    """Opening a planted device or FIFO can have effects (a writer waiting on the
    FIFO is released, a terminal becomes the controlling one): the name is looked
    at without following it, and only a regular file is opened."""
    if kind.endswith("device") and os.geteuid() != 0:
        pytest.skip("mknod of a device node needs root (the lab runs as root)")
    PLANTED[kind](tmp_path / "load.log")

    assert read_untrusted(tmp_path, "load.log") == ""
    assert read_untrusted_bytes(tmp_path, "load.log", 1 << 20) is None
    assert "load.log" not in opened


def test_a_file_swapped_for_a_fifo_after_the_look_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guest may replace the file between the host's look and its open: what was
    opened is compared with what was looked at."""
    log = tmp_path / "load.log"
    log.write_text("looked at\n")
    real_open = os.open

    def swap_then_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if path == "load.log":
            log.unlink()
            os.mkfifo(log)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lab.guestvm.untrusted.os, "open", swap_then_open)
    assert read_untrusted(tmp_path, "load.log") == ""


def test_sources_that_link_out_are_refused_before_anything_is_copied(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("host secret")
    program = tmp_path / "bpf" / "tutorial"
    program.mkdir(parents=True)
    (program / "prog.bpf.c").write_text("int x;\n")
    (program / "secret.h").symlink_to(secret)
    run_dir = tmp_path / "runs" / "6.1"
    share_dirs(run_dir)
    with pytest.raises(SourceError, match="outside the tutorial's directory"):
        Workspace(run_dir, "tutorial", program)
    copies = [path for path in run_dir.rglob("*")
              if path.is_file() and path.read_bytes() == b"host secret"]
    assert copies == [], "the host file travelled into the share or the evidence"
