"""What the lab fetches, verifies and keeps: the Debian archive, downloads, the
kernel catalog and lock, unpacked kernels and the guest root, with their locks
and completion stamps."""
