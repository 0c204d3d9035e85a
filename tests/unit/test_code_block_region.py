"""The region of a file an excerpt is compared with is found in seconds however
long the file (each window's character diff once took minutes)."""

from __future__ import annotations

import time
from pathlib import Path

from lab.docs.code_block import _best_region


def test_an_excerpt_of_a_long_file_is_placed_in_seconds() -> None:
    source = Path(__file__).resolve().parents[2] / "lab" / "docs" / "code_block.py"
    file = source.read_text().splitlines() * 8  # about 1400 lines
    block = file[700:730]
    started = time.monotonic()
    start, _ = _best_region(block, file)
    assert time.monotonic() - started < 5, "every window's full diff took minutes"
    assert file[start:start + 30] == block
