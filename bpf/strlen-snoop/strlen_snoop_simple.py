#!/usr/bin/python3
# strlen_snoop_simple from seed 001: bcc's examples/tracing/strlen_snoop.py
# cut down to its core, as the seed describes: printarg() (lines 8-18 there)
# takes the argument with PT_REGS_PARM1(ctx) and reports sizeof() of it
# (a pointer, so 8 on x86-64, matching the documented output), attached to
# libc's strlen at line 24 with attach_uprobe(name="c", sym="strlen").
from bcc import BPF

bpf_text = """
#include <uapi/linux/ptrace.h>

int printarg(struct pt_regs *ctx) {
    if (!PT_REGS_PARM1(ctx))
        return 0;

    char *str = (char *)PT_REGS_PARM1(ctx);
    bpf_trace_printk("length of argument string = %lu.\\n", sizeof(str));

    return 0;
};
"""

b = BPF(text=bpf_text)
b.attach_uprobe(name="c", sym="strlen", fn_name="printarg")

print("%-18s %-16s %-6s %s" % ("TIME(s)", "COMM", "PID", "MESSAGE"))
while 1:
    try:
        (task, pid, cpu, flags, ts, msg) = b.trace_fields()
    except ValueError:
        continue
    print("%-18.9f %-16s %-6d %s" % (ts, task, pid, msg))
