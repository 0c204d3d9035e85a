"""The console log is bounded: head and tail kept, the cut said in the log."""

from __future__ import annotations

import re
from pathlib import Path

from lab.guestvm.capped_log import CappedLog


def test_a_log_under_its_limit_is_kept_whole(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "console.log", limit=1000)
    log.write("boot\n")
    log.write("root@virtme-ng# ")
    log.close()
    assert (tmp_path / "console.log").read_text() == "boot\nroot@virtme-ng# "


def test_a_flooding_console_keeps_head_and_tail_and_says_what_was_cut(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    log = CappedLog(path, limit=10_000)
    log.write("HEAD" * 100)
    written = 400
    for line in range(20_000):
        text = f"flood line {line}\n"
        log.write(text)
        written += len(text)
        assert path.stat().st_size <= 10_000
    log.write("the last words\n")
    log.close()
    written += len("the last words\n")

    text = path.read_text()
    assert text.startswith("HEAD" * 100)
    assert text.endswith("flood line 19999\nthe last words\n")
    markers = re.findall(r"===== lab: (\d+) bytes of console output cut here", text)
    assert len(markers) == 1, "one marker, however many cuts"
    head, _, tail = text.partition("\n===== lab:")
    kept = len(head) + len(tail.split("=====\n", 1)[1])
    assert int(markers[0]) == written - kept, "the marker counts every byte left out"


def test_the_bound_holds_across_boots_appending_to_one_log(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    for boot in range(3):
        log = CappedLog(path, limit=4_000)
        log.write(f"\n===== boot {boot}\n" + "x" * 3_000)
        log.close()
    assert path.stat().st_size <= 4_000
    assert path.read_text().startswith("\n===== boot 0\n")
    assert "x" * 500 in path.read_text()[-1000:]
