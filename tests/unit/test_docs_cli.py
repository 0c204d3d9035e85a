"""`lab docs check` and `lab docs extract` through the `lab` command (no VM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docs_tutorial import DOCUMENT, PROGRAM, make_tutorial

from lab.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_tutorial(tmp_path)
    (tmp_path / "vm").mkdir()
    (tmp_path / "vm" / "kernels.toml").write_text("")
    monkeypatch.setenv("LAB_PROJECT_DIR", str(tmp_path))
    return tmp_path


def test_check_passes_a_document_without_drift(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "check"]) == 0
    out = capsys.readouterr().out
    assert "== bpf/demo/README.md (demo)" in out and "-> document matches" in out


def test_check_fails_on_drift_and_writes_every_finding(project: Path, tmp_path: Path) -> None:
    readme = project / "bpf" / "demo" / "README.md"
    readme.write_text(DOCUMENT.replace("ret = %ld", "ret = %d"))
    report = tmp_path / "docs.json"
    assert main(["docs", "check", "--json", str(report)]) == 1
    [record] = json.loads(report.read_text())
    assert record["drift"] is True
    assert [(f["file"], f["kind"]) for f in record["findings"]] == [
        ("bpf/demo/README.md", "code-drift")]


def test_check_reads_a_document_outside_the_project(project: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-published.md"
    outside.write_text(DOCUMENT.replace("EXIT: pid = 13992, ret = 0", "EXIT: ret = 0"))
    assert main(["docs", "check", str(outside)]) == 1
    out = capsys.readouterr().out
    assert f"{outside}:" in out and "[unproducible]" in out


def test_extract_writes_the_program_from_its_document(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "extracted"
    assert main(["docs", "extract", str(project / "bpf" / "demo" / "README.md"),
                 "--out", str(out)]) == 0
    assert (out / "demo.bpf.c").read_text() == PROGRAM


def test_a_document_that_only_resembles_a_tutorial_asks_for_the_scenario(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an fentry program on the same function: much like the kprobe one, not it
    fentry = PROGRAM.replace('SEC("kprobe/do_unlinkat")', 'SEC("fentry/do_unlinkat")') \
        .replace("int BPF_KPROBE(enter, int dfd, struct filename *name)",
                 "int BPF_PROG(enter, int dfd, struct filename *name)") \
        .replace('SEC("kretprobe/do_unlinkat")', 'SEC("fexit/do_unlinkat")') \
        .replace("int BPF_KRETPROBE(leave, long ret)",
                 "int BPF_PROG(leave, int dfd, struct filename *name, long ret)")
    other = tmp_path / "fentry.md"
    other.write_text("# fentry\n\n```c\n" + fentry + "```\n")
    assert main(["docs", "check", str(other)]) == 1
    out, err = capsys.readouterr()
    assert "==" not in out  # nothing was checked against a guess
    assert "cannot tell which tutorial" in err and "candidates: demo" in err
    assert "resembles demo/demo.bpf.c" in err
    assert main(["docs", "check", str(other), "--scenario", "demo"]) == 1
