"""A booted guest and what runs in it: the virtme-ng command line, QEMU under
pexpect, the console, the scenario runner and its workloads, the shares."""
