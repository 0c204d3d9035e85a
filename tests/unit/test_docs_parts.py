"""The pieces of lab.docs: Markdown items with their lines, output line parsing,
format strings as patterns, block attribution, accept and extract."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_tutorial import CAPTURE, DOCUMENT, RECORDS, line_of, make_tutorial

from lab.docs.accept import accepted_text
from lab.docs.extract import extract
from lab.docs.formats import Format, formats_of, produces, produces_prefix
from lab.docs.markdown import Code, Directive, Image, Text, parse_document
from lab.docs.program import SourceFile, command_name
from lab.docs.samples import parse_lines, unbytes
from lab.docs.verify import own_check, run_check
from lab.verdicts.outcome import Outcome


def test_markdown_items_keep_their_lines() -> None:
    text = ("# Title\n\nA caption naming `x.c`.\n\n<!-- lab: file=x.c -->\n```c title=x\n"
            "int x;\n```\n\n![the output](img/out.png)\n\n    indented\n")
    items = parse_document(text, Path("d.md")).items
    assert items[0] == Text("heading", 1, "Title")
    assert items[1] == Text("paragraph", 3, "A caption naming `x.c`.")
    assert items[2] == Directive(5, {"file": "x.c"})
    assert items[3] == Code(6, 7, "c title=x", "int x;\n")
    assert Image(10, "img/out.png", "the output") in items
    assert Code(12, 12, "", "indented\n") in items


def test_ftrace_lines_parse_with_or_without_the_kernel_padding() -> None:
    padded = "              rm-269     [001] ...21    27.358232: bpf_trace_printk: KPROBE EXIT"
    bare = "rm-13992   [000] d...1  7379.126314: bpf_trace_printk: KPROBE ENTRY pid = 13992"
    dashed = "   kworker/u4:1-42  (   42) [000] .... 1.000001: bpf_trace_printk: x"
    a, b, c = parse_lines([padded, bare, dashed])
    assert (a.comm, a.pid, a.message) == ("rm", "269", "KPROBE EXIT")
    assert (b.comm, b.pid, b.event) == ("rm", "13992", "bpf_trace_printk")
    assert (c.comm, c.pid) == ("kworker/u4:1", "42")


def test_bcc_rows_parse_by_their_header_and_end_with_the_table() -> None:
    rows = parse_lines(["# ./strlen_snoop_simple",
                        "TIME(s)            COMM             PID    MESSAGE",
                        "6152.677566000     b'ls'            1572   b'length = 8.'",
                        "^C#", "6152.6 b'ls' 1 b'after the table'"], first=10)
    assert [(r.line, r.comm, r.pid, r.message, r.header_line) for r in rows] == [
        (12, "ls", "1572", "length = 8.", 11)]
    assert unbytes("b'cut") == ("cut", True) and unbytes("b'ok'") == ("ok", False)


@pytest.mark.parametrize(("fmt", "text", "full", "prefix"), [
    ("KPROBE EXIT: pid = %d, ret = %ld", "KPROBE EXIT: pid = 1, ret = 0", True, True),
    ("KPROBE EXIT: pid = %d, ret = %ld", "KPROBE EXIT: pid = 13992, ret ", False, True),
    ("KPROBE EXIT: pid = %d, ret = %ld", "KPROBE EXIT: ret = 0", False, False),
    ("PID %d (%s) read: %s ", "PID 148 (bash) read: hi", True, True),
    ("length of argument string = %lu.", "length of argument string = 8.", True, True),
    ("%-18.9f %-16s %-6d %s", "1.5                b'ls'            1572   x", True, True),
])
def test_formats_tell_printable_cut_and_impossible_lines(fmt: str, text: str, full: bool,
                                                         prefix: bool) -> None:
    format_ = Format("f.c", 1, fmt, True)
    assert (produces(format_, text), produces_prefix(format_, text)) == (full, prefix)


def test_formats_come_from_c_and_from_c_inside_python() -> None:
    c = SourceFile("p.bpf.c", 'x;\n  bpf_printk("A %d\\n", a);\n  bpf_trace_printk("B" " %s");\n')
    py = SourceFile("s.py", 'import x\nt = """\n  bpf_trace_printk("arg = %u\\\\n", 1);\n"""\n'
                            'print("%-6d %s" % (1, m))\nprint(f"{a} b")\n')
    assert [(f.line, f.text, f.kernel) for f in formats_of(c)] == [(2, "A %d", True),
                                                                   (3, "B %s", True)]
    assert [(f.line, f.text, f.kernel) for f in formats_of(py)] == [
        (3, "arg = %u", True), (5, "%-6d %s", False), (6, "%s b", False)]


def test_the_program_of_a_command_is_what_its_comm_reads() -> None:
    assert command_name("sudo ./target-sample --x") == "target-sample"
    assert command_name("A=1 rm test1") == "rm"
    assert command_name("python3 a_very_long_script_name.py") == "python3"


def test_blocks_are_named_by_caption_heading_command_or_content(tmp_path: Path) -> None:
    program = "int main(void)\n{\n    puts(\"hello there\");\n    return 0;\n}\n"
    document = ("# T\n\n```c\n" + program + "```\n\nSave it as `demo.bpf.c`.\n\n"
                "## Other\n\n```c\n" + program + "```\n\n```sh\nclang -c demo.bpf.c\n```\n")
    scenario, project = make_tutorial(tmp_path, document, program)
    check = own_check(scenario, project)
    assert check is not None
    assert [(a.code.line, a.how) for a in check.attributions if a.source] == [
        (3, "caption"), (15, "command")]


def test_accept_rewrites_only_the_sample_lines(tmp_path: Path) -> None:
    document = DOCUMENT.replace("ret = 0", "ret = 1", 1)
    scenario, project = make_tutorial(tmp_path, document)
    check = own_check(scenario, project)
    assert check is not None
    outcome = Outcome("demo", stage="expect", passed=True, capture=CAPTURE, records=RECORDS)
    run = run_check(check, {"demo": outcome})
    new = accepted_text(check, run.counterparts, {"demo": CAPTURE})
    old_lines, new_lines = document.splitlines(), new.splitlines()
    changed = [i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    first = line_of(document, "ENTRY pid = 13992")
    assert changed == [first, first + 1, first + 2, first + 3]
    assert new_lines[first] == ("              rm-269     [001] ...21    27.358232: "
                                "bpf_trace_printk: EXIT: pid = 269, ret = 0")


def test_extract_writes_the_files_the_document_shows_in_full() -> None:
    document = parse_document(DOCUMENT.replace("```c\n", "<!-- lab: file=demo.bpf.c -->\n```c\n")
                              + "\n```c\nint excerpt;\n```\n", Path("README.md"))
    files, problems = extract(document)
    assert [(f.name, f.line) for f in files] == [("demo.bpf.c", line_of(DOCUMENT, "```c") + 2)]
    assert files[0].text.startswith('#include "vmlinux.h"')
    assert problems == []
