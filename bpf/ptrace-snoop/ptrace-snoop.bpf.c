/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Written for the lab (issue 10): a tutorial whose workload needs a package the
 * base guest root lacks. Every ptrace(2) call that starts tracing a process
 * (PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE) prints its request, the pid it
 * acts on and the caller's pid; the workload runs strace, which the scenario
 * declares in guest_packages. The requests a tracer makes at every stop of its
 * tracee (PTRACE_SYSCALL, PTRACE_GET_SYSCALL_INFO, ...) are left out: hundreds
 * of them for one short command. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define PTRACE_TRACEME 0
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp/syscalls/sys_enter_ptrace")
int handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long request = ctx->args[0];
	long target = ctx->args[1];
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (request != PTRACE_TRACEME && request != PTRACE_ATTACH && request != PTRACE_SEIZE)
		return 0;
	bpf_printk("ptrace request %ld on PID %ld by PID %d.", request, target, pid);
	return 0;
}
