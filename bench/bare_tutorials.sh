#!/bin/bash
# The same work as the lab's four non-interactive scenarios, written by hand
# for one bare `vng --exec` call: build, load, wait until attached, drive the
# workload, capture. The baseline of bench/benchmark.py. (bashreadline needs
# a terminal to type into, which a bare --exec run does not have.)
set -u
src=/lab/bare/src
out=/lab/bare/out
mkdir -p "$out" /tmp/bare
export PYTHONUNBUFFERED=1
trace=/sys/kernel/tracing

ready() {  # wait until $2 appears in file $1 (the loader's readiness line)
    for _ in $(seq 600); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    return 1
}

libbpf() {  # name, then the build commands
    local name=$1; shift
    cp -r "$src/$name" /tmp/bare/ && cd "/tmp/bare/$name" || exit 1
    for command in "$@"; do bash -c "$command" || exit 1; done
    echo > $trace/trace
    python3 /lab/bin/ecli.py run "$name.bpf.o" > "$out/$name.load" 2>&1 &
    loader=$!
    ready "$out/$name.load" "Running eBPF program" || exit 1
}

stop_and_drain() {
    kill -TERM "$loader"; wait "$loader"
    dd if=$trace/trace_pipe iflag=nonblock status=none of="$out/$1.trace" 2>/dev/null
}

libbpf minimal "clang -O2 -g -target bpf -I/usr/include/\$(uname -m)-linux-gnu -c minimal.bpf.c -o minimal.bpf.o"
sh -c 'echo "writer $$"; exec echo hello from the workload' > "$out/minimal.pids"
stop_and_drain minimal

libbpf kprobe-link "bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h" \
    "clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -c kprobe-link.bpf.c -o kprobe-link.bpf.o"
touch test1; sh -c 'echo "rm $$"; exec rm test1' > "$out/kprobe-link.pids"
touch test2; sh -c 'echo "rm $$"; exec rm test2' >> "$out/kprobe-link.pids"
stop_and_drain kprobe-link

cp -r "$src/uprobe-simple" /tmp/bare/ && cd /tmp/bare/uprobe-simple || exit 1
gcc -O2 -o target-sample target-sample.c
python3 uprobe_simple.py ./target-sample > "$out/uprobe-simple.load" 2>&1 &
loader=$!
ready "$out/uprobe-simple.load" "TIME(s)" || exit 1
stdbuf -oL ./target-sample > "$out/uprobe-simple.target" &
target=$!
ready "$out/uprobe-simple.target" "ret=4" || exit 1
kill -TERM "$target"; wait "$target"
ready "$out/uprobe-simple.load" "return value = 4" || exit 1
kill -TERM "$loader"; wait "$loader"

cd /tmp/bare || exit 1
python3 "$src/strlen-snoop/strlen_snoop_simple.py" > "$out/strlen-snoop.load" 2>&1 &
loader=$!
ready "$out/strlen-snoop.load" "TIME(s)" || exit 1
sh -c 'echo "ls $$"; exec ls' > "$out/strlen-snoop.pids"
ready "$out/strlen-snoop.load" "length of argument string = 8" || exit 1
kill -TERM "$loader"; wait "$loader"
exit 0
