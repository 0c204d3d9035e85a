"""A small tutorial (program, scenario, document) for the lab.docs tests, and a
trace_pipe capture of it shaped as a 6.1 guest prints it."""

from __future__ import annotations

from pathlib import Path

from lab.scenario import Scenario, load_scenario

PROGRAM = """\
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(enter, int dfd, struct filename *name)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    bpf_printk("ENTRY pid = %d, filename = %s\\n", pid, BPF_CORE_READ(name, name));
    return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(leave, long ret)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    bpf_printk("EXIT: pid = %d, ret = %ld\\n", pid, ret);
    return 0;
}
"""

SCENARIO = """\
summary = "kprobe/kretprobe on do_unlinkat"

[build]
commands = ["clang -O2 -g -target bpf -c demo.bpf.c -o demo.bpf.o"]

[load]
command = "ecli run demo.bpf.o"
ready = '^Running eBPF program\\.\\.\\.$'
capture = "trace_pipe"

[[workload]]
run = "rm test1"
record = "unlinks"
vars = { file = "test1" }

[[workload]]
run = "rm test2"
record = "unlinks"
vars = { file = "test2" }

[[expect]]
summary = "ENTRY then EXIT"
for_each = "unlinks"
lines = ['ENTRY pid = ${pid}, filename = ${file}$', 'EXIT: pid = ${pid}, ret = 0$']
"""

SAMPLE = "\n".join([
    "              rm-13992   [000] d...1  7379.126314: bpf_trace_printk: "
    "ENTRY pid = 13992, filename = test1",
    "              rm-13992   [000] d...1  7379.126373: bpf_trace_printk: "
    "EXIT: pid = 13992, ret = 0",
    "              rm-14399   [001] d...1  7382.766562: bpf_trace_printk: "
    "ENTRY pid = 14399, filename = test2",
    "              rm-14399   [001] d...1  7382.766779: bpf_trace_printk: "
    "EXIT: pid = 14399, ret = 0",
])

DOCUMENT = f"""\
# Watching unlink

Some prose.

## The program: demo.bpf.c

```c
{PROGRAM}```

## Build

```sh
clang -O2 -g -target bpf -c demo.bpf.c -o demo.bpf.o
```

## Output

```console
$ sudo cat /sys/kernel/tracing/trace_pipe
{SAMPLE}
```
"""


def trace(comm: str, pid: int, message: str, cpu: int = 1, stamp: str = "27.358232") -> str:
    return f"{comm:>16}-{pid:<7} [{cpu:03d}] ...21 {stamp:>12}: bpf_trace_printk: {message}"


CAPTURE = "\n".join([
    trace("bash", 120, "ENTRY pid = 120, filename = .bash_history"),
    trace("rm", 269, "ENTRY pid = 269, filename = test1"),
    "",
    trace("rm", 269, "EXIT: pid = 269, ret = 0"),
    "",
    trace("rm", 271, "ENTRY pid = 271, filename = test2"),
    "",
    trace("rm", 271, "EXIT: pid = 271, ret = 0"),
    "",
])
RECORDS = {"unlinks": [{"pid": "269", "file": "test1"}, {"pid": "271", "file": "test2"}]}


def make_tutorial(root: Path, document: str | None = DOCUMENT,
                  program: str = PROGRAM) -> tuple[Scenario, Path]:
    """bpf/demo/ (with README.md unless document is None) and scenarios/demo.toml."""
    (root / "bpf" / "demo").mkdir(parents=True, exist_ok=True)
    (root / "scenarios").mkdir(exist_ok=True)
    (root / "bpf" / "demo" / "demo.bpf.c").write_text(program)
    if document is not None:
        (root / "bpf" / "demo" / "README.md").write_text(document)
    (root / "scenarios" / "demo.toml").write_text(SCENARIO)
    return load_scenario(root / "scenarios" / "demo.toml"), root


def line_of(text: str, fragment: str, nth: int = 0) -> int:
    """The 1-based line of the nth line containing fragment."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return hits[nth]
