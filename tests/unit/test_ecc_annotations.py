"""Tests for the lab's ecc (lab.in_guest.ecc): the annotations it reads from the doc
comments of a program's maps and programs, as eunomia-bpf's ecc does, and the
package it writes them into for ecli."""

from __future__ import annotations

import json
import textwrap

import pytest

from lab.in_guest import ecc
from lab.in_guest import ecli_package as package

SOURCE = textwrap.dedent('''\
    #include <vmlinux.h>
    #include <bpf/bpf_helpers.h>

    /// Latency per key.
    /// @sample {"interval": 500, "type" : "log2_hist", "unit": "usecs"}
    struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 64);
        __type(key, u32);
        __type(value, struct hist);
    } latency SEC(".maps");

    struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, u32);
        __type(value, u64);
    } plain SEC(".maps");

    /// @tchook {"ifindex":3, "attach_point":"BPF_TC_EGRESS"}
    /// @tcopts {"handle":2, "priority":5}
    SEC("tc")
    int egress_filter(struct __sk_buff *ctx)
    {
        return 0;
    }

    /// @ifindex 2
    /// @flags 2
    /// @xdpopts {"old_prog_fd":0}
    SEC("xdp")
    int BPF_PROG(packet_counter, struct xdp_md *ctx)
    {
        return XDP_PASS;
    }

    /// the doc of a global, which is neither a map nor a program
    /// @unit usecs
    const volatile bool verbose = false;

    int unannotated(void *ctx) { return 0; } /// @ifindex 9 (a trailing comment)
    char LICENSE[] SEC("license") = "GPL";
    ''')


def test_the_maps_and_programs_of_a_source_with_the_values_of_their_commands() -> None:
    maps, progs = ecc.annotations(SOURCE)
    assert maps == {"latency": {"description": "Latency per key.",
                                "sample": {"interval": 500, "type": "log2_hist",
                                           "unit": "usecs"}}}
    assert progs == {"egress_filter": {"tchook": {"ifindex": 3, "attach_point": "BPF_TC_EGRESS"},
                                       "tcopts": {"handle": 2, "priority": 5}},
                     "packet_counter": {"ifindex": 2, "flags": 2, "xdpopts": {"old_prog_fd": 0}}}


@pytest.mark.parametrize(("lines", "notes"), [
    ([" @interval 1000"], {"interval": 1000}),
    ([" @name a text"], {"name": "a text"}),
    ([" @a 1 @b [2, 3]"], {"a": 1, "b": [2, 3]}),
    ([" @a", " {\"on\": true}"], {"a": {"on": True}}),
    ([" @a", "", " later"], {"description": "later"}),
    ([" first words", " @a 1"], {"description": "first words", "a": 1}),
    ([" \\cmd 4"], {"cmd": 4}),
    ([" mail a@b.c"], {"description": "mail a@b.c"}),
])
def test_each_command_takes_the_text_after_it_json_or_string_within_a_paragraph(
        lines: list[str], notes: dict[str, object]) -> None:
    assert ecc.comment_annotations(lines) == notes


@pytest.mark.parametrize(("text", "declared"), [
    ('struct {\n __uint(type, BPF_MAP_TYPE_RINGBUF);\n} rb SEC(".maps");', ("map", "rb")),
    ('struct { struct { int a; } inner; } nested SEC(".maps");', ("map", "nested")),
    ("struct { int a; } not_a_map;", None),
    ('SEC("kprobe/do_unlinkat")\nint BPF_KPROBE(unlink_entry, int dfd)\n{',
     ("prog", "unlink_entry")),
    ('SEC("tp/sched/sched_switch") int handle(void *ctx) {', ("prog", "handle")),
    ("static __always_inline int helper(int v);", ("prog", "helper")),
    ("struct event {\n int pid;\n};", None),
    ('char LICENSE[] SEC("license") = "GPL";', None),
    ("const volatile int limit = 3;", None),
])
def test_the_declaration_a_comment_belongs_to(text: str, declared: tuple[str, str] | None) -> None:
    assert ecc.declaration(text) == declared


def test_a_block_doc_comment_is_read_like_line_comments() -> None:
    source = ('/**\n * @sample {"interval": 10}\n */\nstruct {\n int x;\n} counts SEC(".maps");\n'
              '/* @sample {"interval": 20} is not a doc comment */\n'
              'struct {\n int x;\n} others SEC(".maps");\n')
    assert ecc.annotations(source) == ({"counts": {"sample": {"interval": 10}}}, {})


def test_object_name_is_the_file_name_without_o_and_dots_as_underscores() -> None:
    assert ecc.object_name("/build/prog.bpf.o") == "prog_bpf"


def test_the_package_carries_the_object_and_the_annotations() -> None:
    maps, progs = ecc.annotations(SOURCE)
    unpacked = package.unpack(package.pack(b"object", "prog_bpf", maps, progs))
    assert (unpacked.maps["latency"]["sample"], unpacked.progs["packet_counter"]["ifindex"]) \
        == ({"interval": 500, "type": "log2_hist", "unit": "usecs"}, 2)
    assert json.loads(package.pack(b"", "x", {}, {}))["meta"]["bpf_skel"]["maps"] == []
