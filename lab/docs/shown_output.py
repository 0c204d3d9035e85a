"""Which lines of a block show output: not commands, prompts or prose.

A console block mixes a prompt's command with what it printed; a block without
prompts is output unless its lines are commands (`sudo ./x`, `make`) or prose
(a bcc tool's example file quotes its explanation). Both the coverage count and
the check of lines that are neither trace lines nor table rows use this.
"""

from __future__ import annotations

import re

from lab.docs.attribution import SHELL_LANGS
from lab.docs.markdown import Code
from lab.docs.samples import has_samples

PROMPT = re.compile(r"^\s*(?:\S*[$#]|>>>)\s+(?=\S)")
COMMANDS = {"sudo", "make", "ecc", "ecli", "docker", "cd", "git", "clang", "bpftool", "cat",
            "echo", "python", "python3", "pip", "apt", "apt-get", "cargo", "go", "wget", "curl",
            "mkdir", "export", "rm", "ls", "gcc", "cmake", "bash", "sh", "chmod", "mount",
            "gdb", "kill", "sleep", "touch", "cp", "mv", "tar", "ip", "tc", "bpftrace", "uname",
            "llvm-strip", "llc", "objdump", "readelf", "insmod", "rmmod", "dmesg", "nc", "ping"}
PROSE = re.compile(r"^[A-Z][^|]*\w[.:]$")
PROSE_WORDS = 6
KEYS = {"^C", "^C^C", "...", "…"}  # a key the reader pressed, an elision


def output_lines(code: Code) -> list[int]:
    """The document lines of a block that show output, not commands or prose."""
    lines = code.lines
    prompted = any(PROMPT.match(line) for line in lines)
    if not prompted and code.lang in SHELL_LANGS - {"", "text", "console"} \
            and not has_samples(lines):
        return []
    found, after_prompt = [], not prompted
    for offset, text in enumerate(lines):
        if PROMPT.match(text):
            after_prompt = True
            continue
        if not text.strip() or not after_prompt or _command(text) or _prose(text) \
                or text.strip() in KEYS:
            continue
        found.append(code.first + offset)
    return found


def _command(text: str) -> bool:
    words = text.split()
    return bool(words) and (words[0] in COMMANDS or words[0].startswith("./"))


def _prose(text: str) -> bool:
    return len(text.split()) >= PROSE_WORDS and PROSE.match(text.strip()) is not None
