#!/bin/bash
# The baseline of bench/benchmark.py: the five seed tutorials done by hand in
# one bare `vng --exec` run, with the lab's shares (/lab read-write, /lab/ro
# read-only: the lab's ecli at /lab/ro/bin, the sources at /lab/ro/src/<name>).
#
#   bash /lab/ro/bare_tutorials.sh [TUTORIAL...]    (default: the five seeds)
#
# For each tutorial: the scenario's [build] commands as written (vmlinux.h
# dumped once per boot, as the lab does for a scenario's `vmlinux_h`), its
# loader, a wait for its readiness line, its workload (bashreadline types
# its five lines into `bash --norc -i` on a pty, through util-linux's
# `script`), its capture, and a check by hand of the documented lines with
# the workload's pids (the scenario's [[expect]]). A failed wait or check
# exits 1 and says why in /lab/out/failed, so a broken run never gives a time:
# without a terminal vng shows no output and cannot return a status, so the
# benchmark takes success only from the file it touches after an exit 0.
#
# /lab/out/<tutorial>/ keeps the logs; /lab/out/times the guest's uptime at
# the start and a `tutorial stage $EPOCHREALTIME` line as each stage starts
# (build, load, workload, capture; `end` after the check). /lab/out must exist.
set -u
read -r uptime _ < /proc/uptime
times=/lab/out/times  # the host notes when it appears: the script has started
echo "guest-uptime $uptime" > "$times" || exit 1
ro=/lab/ro
trace=/sys/kernel/tracing
export PATH=$ro/bin:$PATH PYTHONUNBUFFERED=1
mkdir -p /tmp/bare

# `read -t` on a pipe nobody writes to: a sleep without starting a process
mkfifo /tmp/bare/nap && exec {nap}<>/tmp/bare/nap || exit 1
nap() { read -r -t "$1" -u "$nap" _; true; }

fail() {
    echo "bare: FAILED: $*" | tee -a /lab/out/failed >&2
    exit 1
}

stage() { echo "$tutorial $1 $EPOCHREALTIME" >> "$times"; }

begin() {  # tutorial name: a fresh copy of its sources, cwd there, its log dir
    tutorial=$1
    out=/lab/out/$tutorial
    mkdir -p "$out"
    stage build
    rm -rf "/tmp/bare/$tutorial" && cp -r "$ro/src/$tutorial" /tmp/bare/ \
        && cd "/tmp/bare/$tutorial" || fail "$tutorial: cannot copy its sources"
}

vmlinux_h() {  # the scenarios' vmlinux_h: the running kernel's, dumped once per boot
    if [ ! -s /tmp/bare/vmlinux.h ]; then
        build 'bpftool btf dump file /sys/kernel/btf/vmlinux format c > /tmp/bare/vmlinux.h'
    fi
    cp /tmp/bare/vmlinux.h "$1" || fail "$tutorial: cannot copy vmlinux.h"
}

build() {  # one build command, as the scenario writes it, in a subshell as the lab runs it
    (eval "$1") >> "$out/build.log" 2>&1 || fail "$tutorial: \`$1\` failed: $(tail -n 5 "$out/build.log")"
}

start_loader() {  # command, readiness regex: start it on an empty trace, wait until attached
    stage load
    echo > $trace/trace
    $1 > "$out/load.log" 2>&1 &
    loader=$!
    wait_for "$out/load.log" "$2" 180 "\`$1\` to be ready" $loader
    stage workload
}

wait_for() {  # file, extended regex, seconds, what, pid: poll until a line matches
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$5" 2>/dev/null || grep -qE -- "$2" "$1" 2>/dev/null \
            || fail "$tutorial: pid $5 exited while waiting for $4: $(tail -n 5 "$1")"
        nap 0.1
    done
    fail "$tutorial: no line matching '$2' in $1 within $3 s (waiting for $4)"
}

stop_loader() {
    kill -TERM "$loader"
    wait "$loader"
}

drain_trace() {
    dd if=$trace/trace_pipe iflag=nonblock status=none of="$out/trace.log" 2>/dev/null
}

in_order() {  # file, regex...: each regex matches a line after the previous one's
    local file=$1 from=1 at
    shift
    for regex; do
        at=$(tail -n "+$from" "$file" | grep -nE -m1 -- "$regex" | cut -d: -f1)
        [ -n "$at" ] || fail "$tutorial: no line matching '$regex' in $file (from line $from)"
        from=$((from + at))
    done
}

done_with() {
    echo "$tutorial end $EPOCHREALTIME" >> "$times"
    echo "bare: $tutorial passed"
}

minimal() {
    begin minimal
    build 'clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c minimal.bpf.c -o minimal.bpf.o'
    start_loader "ecli run minimal.bpf.o" '^Running eBPF program\.\.\.$'
    echo hello from the workload >> "$out/workload.log" &
    local echo_pid=$!
    wait $echo_pid
    ls / >> "$out/workload.log" &
    local ls_pid=$!
    wait $ls_pid
    stage capture
    stop_loader
    drain_trace
    for pid in $echo_pid $ls_pid; do
        in_order "$out/trace.log" "bpf_trace_printk: BPF triggered sys_enter_write from PID $pid\.$"
    done
    done_with
}

kprobe_link() {
    begin kprobe-link
    vmlinux_h vmlinux.h
    build 'clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -c kprobe-link.bpf.c -o kprobe-link.bpf.o'
    start_loader "ecli run kprobe-link.bpf.o" '^Running eBPF program\.\.\.$'
    touch test1
    rm test1 &
    local rm1=$!
    wait $rm1
    touch test2
    rm test2 &
    local rm2=$!
    wait $rm2
    stage capture
    stop_loader
    drain_trace
    in_order "$out/trace.log" "bpf_trace_printk: KPROBE ENTRY pid = $rm1, filename = test1$" \
        "bpf_trace_printk: KPROBE EXIT: pid = $rm1, ret = 0$"
    in_order "$out/trace.log" "bpf_trace_printk: KPROBE ENTRY pid = $rm2, filename = test2$" \
        "bpf_trace_printk: KPROBE EXIT: pid = $rm2, ret = 0$"
    done_with
}

# Type lines into an interactive bash on a pty (script's), each once its prompt
# shows, then ^D; sets bash_pid. The conversation goes to $out/typed.log.
type_into_bash() {
    local line chunk seen
    bash_pid=""
    coproc TYPIST { script -qfec "sh -c 'echo BASHPID=\$\$; exec bash --norc -i'" /dev/null 2>&1; }
    local from=${TYPIST[0]} to=${TYPIST[1]} typist=$TYPIST_PID
    while IFS= read -r -t 30 -u "$from" line; do
        printf '%s\n' "$line" >> "$out/typed.log"
        [[ $line =~ BASHPID=([0-9]+) ]] && bash_pid=${BASH_REMATCH[1]} && break
    done
    [ -n "$bash_pid" ] || fail "$tutorial: bash on the pty did not start"
    for line in "" "$@"; do
        if [ -n "$line" ]; then printf '%s\n' "$line" >&"$to"; fi
        seen=""
        until [[ $seen =~ bash-[0-9.]+#$ ]]; do
            IFS= read -r -d '#' -t 30 -u "$from" chunk \
                || fail "$tutorial: no bash prompt after typing '$line': $seen"
            seen+="$chunk#"
        done
        printf '%s' "$seen" >> "$out/typed.log"
    done
    printf '\004' >&"$to"
    wait "$typist"
}

bashreadline() {
    begin bashreadline
    vmlinux_h vmlinux.h
    build 'clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -c bashreadline.bpf.c -o bashreadline.bpf.o'
    start_loader "ecli run bashreadline.bpf.o" '^Running eBPF program\.\.\.$'
    local typed=(hi test1 test2 command1 command2)
    type_into_bash "${typed[@]}"
    stage capture
    stop_loader
    drain_trace
    for line in "${typed[@]}"; do
        in_order "$out/trace.log" "bpf_trace_printk: PID $bash_pid \(bash\) read: $line ?$"
    done
    done_with
}

uprobe_simple() {
    begin uprobe-simple
    build 'gcc -O2 -o target-sample target-sample.c'
    start_loader "python3 uprobe_simple.py ./target-sample" '^TIME\(s\)\s+COMM\s+PID\s+MESSAGE'
    # The lab runs it on a terminal (line-buffered) and types ^C once it printed
    # ret=4. Here SIGTERM: a background job of a script ignores SIGINT.
    stdbuf -oL ./target-sample > "$out/target.log" &
    local target=$!
    wait_for "$out/target.log" '^ret=4$' 120 "target-sample to print ret=4" $target
    kill -TERM $target
    wait $target
    local values
    values=$(sed -n 's/^ret=\([0-9]*\)$/\1/p' "$out/target.log")
    local last=${values##*$'\n'}
    stage capture
    # bcc prints as trace_pipe delivers: wait for the last call's return, then stop it
    local comm="b'(target-sample|<\.\.\.>)'"
    wait_for "$out/load.log" "$comm\s+$target\s+b'return value = $last'" 60 "the last return" $loader
    stop_loader
    for value in $values; do
        in_order "$out/load.log" "$comm\s+$target\s+b'arg = $value'" \
            "$comm\s+$target\s+b'return value = $value'"
    done
    done_with
}

strlen_snoop() {
    begin strlen-snoop
    start_loader "python3 strlen_snoop_simple.py" '^TIME\(s\)\s+COMM\s+PID\s+MESSAGE'
    ls >> "$out/workload.log" &
    local ls_pid=$!
    wait $ls_pid
    stage capture
    local line="b'(ls|<\.\.\.>)'\s+$ls_pid\s+b'length of argument string = 8\.'"
    wait_for "$out/load.log" "$line" 60 "ls's strlen call" $loader
    stop_loader
    in_order "$out/load.log" "$line"
    done_with
}

[ $# -gt 0 ] || set -- minimal kprobe-link bashreadline uprobe-simple strlen-snoop
for name; do
    case $name in
        minimal | kprobe-link | bashreadline | uprobe-simple | strlen-snoop) "${name//-/_}" ;;
        *) fail "no tutorial $name in this script" ;;
    esac
done
: > /lab/out/finished  # the host notes when it appears
exit 0
