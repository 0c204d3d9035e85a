#!/usr/bin/python3
# uprobe_simple from seed 001 ("ユーザアプリの監視(uprobe/uretprobe)").
# The seed quotes printarg/printret and the two attach calls verbatim; the
# rest follows the bcc example it is based on (trace_fields loop printing
# TIME(s) COMM PID MESSAGE). The seed says the binary path must be edited to
# match one's system: here it is the first argument instead.
import sys

from bcc import BPF

binary = sys.argv[1] if len(sys.argv) > 1 else "./target-sample"

bpf_text = """
#include <uapi/linux/ptrace.h>

int printarg(struct pt_regs *ctx) {
    if (!PT_REGS_PARM1(ctx))
        return 0;
    bpf_trace_printk("arg = %u\\n", PT_REGS_PARM1(ctx));
    return 0;
};

int printret(struct pt_regs *ctx) {
    if (!PT_REGS_RC(ctx))
        return 0;
    bpf_trace_printk("return value = %u\\n", PT_REGS_RC(ctx));
    return 0;
};
"""

b = BPF(text=bpf_text)
b.attach_uprobe(name=binary, sym="func", fn_name="printarg")
b.attach_uretprobe(name=binary, sym="func", fn_name="printret")

print("%-18s %-16s %-6s %s" % ("TIME(s)", "COMM", "PID", "MESSAGE"))
while 1:
    try:
        (task, pid, cpu, flags, ts, msg) = b.trace_fields()
    except ValueError:
        continue
    print("%-18.9f %-16s %-6d %s" % (ts, task, pid, msg))
