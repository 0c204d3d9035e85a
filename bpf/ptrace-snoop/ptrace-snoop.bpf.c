/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Written for the lab (issue 10): a tutorial whose workload needs a package the
 * base guest root lacks. Every ptrace(2) call prints its request, the pid it acts
 * on and the caller's pid; the workload runs strace, which the scenario declares
 * in guest_packages. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp/syscalls/sys_enter_ptrace")
int handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long request = ctx->args[0];
	long target = ctx->args[1];
	int pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("ptrace request %ld on PID %ld by PID %d.", request, target, pid);
	return 0;
}
