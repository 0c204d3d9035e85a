"""The console log, bounded: the guest decides how much its console prints.

The host writes everything the guest's console says to console.log (pexpect's
logfile_read), so a guest that prints without end would fill the host's disk.
CappedLog keeps the log's head (the boot, the first scenarios) and its tail
(what the failure tail and the evidence are read from), and says in the log,
where the cut is, how many bytes were left out.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CONSOLE_LOG_LIMIT = 32 << 20
MARKER = ("\n===== lab: {cut} bytes of console output cut here (the log keeps its first "
          "{head} and its last bytes, at most {limit} in all) =====\n")
MARKER_CUT = re.compile(rb"\n===== lab: (\d+) bytes of console output cut here")


class CappedLog:
    """A text log file, appended to, never larger than limit bytes: when it grows
    past limit, the bytes after its first limit/2 are cut down to the last limit/4
    (so a cut happens once per limit/4 bytes written, not on every write)."""

    def __init__(self, path: Path, limit: int = CONSOLE_LOG_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.head = limit // 2
        self.keep = limit // 4
        self._file = open(path, "ab")  # noqa: SIM115 (closed by close())
        self._size = os.fstat(self._file.fileno()).st_size

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        self._file.write(data)
        self._size += len(data)
        if self._size > self.limit:
            self._cut()
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def _cut(self) -> None:
        """Keep [0, head) and the last `keep` bytes, with a marker between them
        that counts every byte cut so far (an earlier marker is among the cut)."""
        self._file.flush()
        with open(self.path, "r+b") as log:
            log.seek(self.head)
            earlier = MARKER_CUT.match(log.read(200))
            log.seek(self._size - self.keep)
            tail = log.read(self.keep)
            cut = self._size - self.head - self.keep
            if earlier is not None:
                old_marker = len(MARKER.format(cut=earlier[1].decode(), head=self.head,
                                               limit=self.limit).encode())
                cut += int(earlier[1]) - old_marker
            marker = MARKER.format(cut=cut, head=self.head, limit=self.limit).encode()
            log.seek(self.head)
            log.write(marker + tail)
            log.truncate()
            self._size = log.tell()
