"""Check a kernel's build config before booting it (pure logic).

Debian ships each kernel's config in its package; reading it first turns a
missing feature into "CONFIG_UPROBE_EVENTS is not set" instead of a cryptic
load failure half-way through a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# What the lab itself needs from every kernel: shares over 9p/virtio, the
# trace buffer, BPF, and BTF (bpftool's vmlinux.h, libbpf's CO-RE).
VM_OPTIONS = {
    "CONFIG_NET_9P": "9p, how virtme-ng shares the guest root",
    "CONFIG_NET_9P_VIRTIO": "9p over virtio",
    "CONFIG_9P_FS": "the 9p file system",
    "CONFIG_VIRTIO_PCI": "virtio devices",
    "CONFIG_BPF_SYSCALL": "the bpf() system call",
    "CONFIG_DEBUG_INFO_BTF": "BTF in /sys/kernel/btf/vmlinux",
    "CONFIG_FTRACE": "the trace buffer and trace_pipe",
}


def parse_config(text: str) -> dict[str, str]:
    """CONFIG_X=value lines; `# CONFIG_X is not set` lines are simply absent."""
    options = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, _, value = line.partition("=")
            options[name.strip()] = value.strip()
    return options


def missing_options(config: Mapping[str, str], required: Iterable[str]) -> list[str]:
    """Required options that are neither built in (y) nor modules (m)."""
    return [name for name in required if config.get(name) not in ("y", "m")]


def describe_missing(release: str, missing: Iterable[str], why: Mapping[str, str]) -> str:
    parts = [f"{name} ({why[name]})" if name in why else name for name in missing]
    return f"kernel {release} is built without " + ", ".join(parts)
