"""The region of a file an excerpt is compared with: the first window of the best
score, as scoring every window in turn gives, however the search is pruned."""

from __future__ import annotations

import time
from difflib import SequenceMatcher
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.docs.code_block import PARTIAL, _best_region

LINES = st.lists(st.sampled_from(["int x;", "x++;", "return 0;", "}", "{", "", "if (x)",
                                  "bpf_printk(\"hi\");", "struct a b;"]), max_size=30)


def every_window(block: list[str], file: list[str]) -> int:
    """The plain search: every window scored, the first of the highest kept."""
    size, text = len(block), "\n".join(line.strip() for line in block)
    best, best_score = 0, -1.0
    for start in range(max(1, len(file) - size + 1)):
        window = "\n".join(line.strip() for line in file[start:start + size])
        score = SequenceMatcher(None, window, text, autojunk=False).ratio()
        if score > best_score:
            best, best_score = start, score
    return best


@settings(max_examples=300, deadline=None)
@given(block=LINES.filter(bool), file=LINES)
def test_the_pruned_search_finds_the_window_every_window_scored_finds(
        block: list[str], file: list[str]) -> None:
    start, region = _best_region(block, file)
    if len(block) < PARTIAL * len(file):  # a block much shorter than the file: a window
        assert start == every_window(block, file)
        assert region == file[start:start + len(block)]


def test_an_excerpt_of_a_long_file_is_placed_in_seconds() -> None:
    source = Path(__file__).resolve().parents[2] / "lab" / "docs" / "code_block.py"
    file = source.read_text().splitlines() * 8  # about 1400 lines
    block = file[700:730]
    started = time.monotonic()
    start, _ = _best_region(block, file)
    assert time.monotonic() - started < 5, "every window's full diff took minutes"
    assert file[start:start + 30] == block
