// SPDX-License-Identifier: GPL-2.0
/* The lab's own check of a guest userland's BPF toolchain (tests/faults/
 * test_guest_flavors.py): BPF_UPROBE, which names a user function's arguments,
 * came to libbpf's bpf_tracing.h in 1.2. This builds with trixie's libbpf (1.5)
 * and clang 19; with bookworm's libbpf 1.1 clang stops at the undefined macro.
 * It prints the arguments of every call of libc's kill() and who made it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe//usr/lib/x86_64-linux-gnu/libc.so.6:kill")
int BPF_UPROBE(on_kill, int pid, int sig)
{
	bpf_printk("kill(pid=%d, sig=%d) called by PID %d", pid, sig,
		   (int)(bpf_get_current_pid_tgid() >> 32));
	return 0;
}
