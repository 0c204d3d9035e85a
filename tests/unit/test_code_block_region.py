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


def test_a_block_whose_every_line_changed_is_placed_where_it_is_most_alike() -> None:
    """No line is shared (a placeholder in each): the diff shows the two lines it
    replaces, not the whole file (seed 001's attach calls)."""
    file = [f"line_{n} = compute({n})" for n in range(40)]
    file[31:33] = ['b.attach_uprobe(name=binary, sym="func")',
                   'b.attach_uretprobe(name=binary, sym="func")']
    block = ['b.attach_uprobe(name="PATH", sym="func")',
             'b.attach_uretprobe(name="PATH", sym="func")']
    assert _best_region(block, file) == (31, file[31:33])
