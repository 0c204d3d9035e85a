"""Kernel health: splats in the kernel log and panics on the console fail a cell."""

from __future__ import annotations

import subprocess

import pytest

from lab.verdicts.kernel_health import (
    LAST_RECORD,
    Accepted,
    Mark,
    health,
    kmsg_messages,
    last_sequence,
    panic_message,
    read_taint,
    splats,
    taint_letters,
)

KMSG = """6,1001,5000000,-;virtio_net virtio1 enp0s2: renamed from eth0
4,1002,6000000,-;------------[ cut here ]------------
4,1003,6000100,-;WARNING: CPU: 1 PID: 311 at kernel/bpf/core.c:123 bpf_prog_run+0x1/0x2
 SUBSYSTEM=cpu
 DEVICE=+cpu:1
4,1004,6000200,-;Modules linked in: 9p
4,1005,6000300,c;CPU: 1 PID: 311 Comm: ecli Not tainted 6.1.0-50-amd64
"""


def test_kmsg_records_become_messages_without_their_dictionary_lines() -> None:
    messages = kmsg_messages(KMSG)
    assert messages[0] == "virtio_net virtio1 enp0s2: renamed from eth0"
    assert "SUBSYSTEM=cpu" not in " ".join(messages)
    assert len(messages) == 5


def test_last_sequence_is_the_cursor_for_the_next_scenario() -> None:
    assert last_sequence(KMSG) == 1005
    assert last_sequence("") == 0


# /dev/kmsg as read on a 6.1 host: the last record carries a device, so the dump's
# last line is a continuation line, not a record.
REAL_KMSG = """6,190,301437,-;ACPI: PCI Root Bridge [PC00] (domain 0000 [bus 00])
6,191,301558,-;pci_bus 0000:00: root bus resource [mem 0xeec00000-0xeecfffff]
 SUBSYSTEM=pci_bus
 DEVICE=+pci_bus:0000:00
6,192,301452,-;acpi PNP0A08:00: PCIe port services disabled; not requesting _OSC control
 SUBSYSTEM=acpi
 DEVICE=+acpi:PNP0A08:00
"""


def guest_cursor(dump: str) -> int:
    """The cursor as the runner takes it: the guest's filter, then the host's parser."""
    shown = subprocess.run(["sh", "-c", LAST_RECORD], input=dump, capture_output=True,
                           text=True, check=True).stdout
    return last_sequence(shown)


@pytest.mark.parametrize("tail", ["", " SUBSYSTEM=pci\n DEVICE=+pci:0000:00:01.0\n",
                                  " DEVICE=+x,7,y\n", "6,193,bad;not a record\n"])
def test_the_cursor_is_the_last_record_whatever_continuation_lines_follow(tail: str) -> None:
    assert guest_cursor(REAL_KMSG + tail) == 192
    assert last_sequence(REAL_KMSG + tail) == 192


def test_continuation_lines_are_not_messages() -> None:
    assert kmsg_messages(REAL_KMSG + " DEVICE=+x,7,y;z\n") == [
        "ACPI: PCI Root Bridge [PC00] (domain 0000 [bus 00])",
        "pci_bus 0000:00: root bus resource [mem 0xeec00000-0xeecfffff]",
        "acpi PNP0A08:00: PCIe port services disabled; not requesting _OSC control"]


def test_an_empty_dump_is_cursor_zero() -> None:
    assert guest_cursor("") == 0


def test_a_warning_is_a_splat_with_its_first_lines() -> None:
    found = splats(kmsg_messages(KMSG))
    assert len(found) == 1
    assert found[0].startswith("WARNING: CPU: 1 PID: 311 at kernel/bpf/core.c:123")
    assert "Comm: ecli" in found[0]


@pytest.mark.parametrize("message", [
    "BUG: kernel NULL pointer dereference, address: 0000000000000008",
    "Oops: 0000 [#1] PREEMPT SMP NOPTI",
    "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [ecli:311]",
    "rcu: INFO: rcu_preempt self-detected stall on CPU",
    "general protection fault, probably for non-canonical address 0xdead: 0000 [#1]",
    "kernel BUG at mm/slub.c:379!",
    "INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
    "Kernel panic - not syncing: sysrq triggered crash",
])
def test_every_kind_of_splat_is_found(message: str) -> None:
    assert splats([message])


@pytest.mark.parametrize("message", [
    "bpf: Failed to load program: warning: this is ordinary",
    "ecli[311]: segfault at 0 ip 0000 sp 0000 error 4",  # a user crash, not the kernel's
    "test_warning: all good",
])
def test_ordinary_messages_are_not_splats(message: str) -> None:
    assert not splats([message])


def test_an_accepted_pattern_is_left_out_and_others_still_count() -> None:
    accepted = [Accepted(r"WARNING: .* at kernel/bpf/core\.c", "measured, explained")]
    assert not splats(kmsg_messages(KMSG), accepted)
    assert splats(["BUG: unable to handle page fault"], accepted)


def test_a_panic_on_the_console_is_named_by_its_message() -> None:
    console = "[   12.3] sysrq: Trigger a crash\r\n[   12.3] Kernel panic - not syncing: " \
              "sysrq triggered crash\r\n[   12.4] Kernel Offset: disabled\r\n"
    assert panic_message(console) == "sysrq triggered crash"
    assert panic_message("[    1.0] Linux version 6.1\r\n") is None


# --- after a splat the next cell gets a fresh guest ---------------------------------

WARN_BIT = 1 << 9
UNTAINTED = Mark(1000, 0)


def test_a_splat_fails_the_cell_and_damages_the_kernel() -> None:
    found = health(kmsg_messages(KMSG), (), UNTAINTED, WARN_BIT)
    assert found.damaged
    failure = found.failure()
    assert failure is not None
    assert failure.startswith("the kernel logged: WARNING: CPU: 1 PID: 311 at kernel/bpf/core")


def test_an_accepted_splat_passes_but_still_damages_the_kernel() -> None:
    accepted = [Accepted(r"WARNING: .* at kernel/bpf/core\.c", "measured, explained")]
    found = health(kmsg_messages(KMSG), accepted, UNTAINTED, WARN_BIT)
    assert found.failure() is None
    assert found.damaged
    assert found.accepted and not found.failing


def test_a_quiet_cell_leaves_the_kernel_as_it_was() -> None:
    found = health(["virtio_net virtio1 enp0s2: renamed from eth0"], (), Mark(5, WARN_BIT),
                   WARN_BIT)
    assert not found.damaged and found.failure() is None


@pytest.mark.parametrize(("gained", "letters", "fails"), [
    (WARN_BIT, "W", True),  # a warning whose records were lost
    (1 << 7, "D", True),  # an oops
    (1 << 12 | 1 << 13, "OE", False),  # an out-of-tree, unsigned module: not damage
])
def test_a_new_taint_damages_the_kernel_and_a_damage_taint_fails_the_cell(
        gained: int, letters: str, fails: bool) -> None:
    found = health([], (), UNTAINTED, gained)
    assert found.new_taints == letters
    assert found.damaged
    assert (found.failure() is not None) == fails


def test_an_unreadable_taint_gains_nothing() -> None:
    assert not health([], (), Mark(1, None), WARN_BIT).damaged
    assert not health([], (), UNTAINTED, None).damaged


@pytest.mark.parametrize(("text", "taint"), [
    ("512\n6,192,301452,-;acpi: 7\n", 512), ("0\n", 0), ("", None),
    ("cat: /proc/sys/kernel/tainted: No such file\n6,1,2,-;x\n", None),
])
def test_the_taint_is_the_first_line_the_guest_printed(text: str, taint: int | None) -> None:
    assert read_taint(text) == taint


def test_taint_letters_are_the_kernels() -> None:
    assert taint_letters(0) == ""
    assert taint_letters(1 | 1 << 9 | 1 << 14) == "PWL"
