"""Names that become directories and file names on the host and in the guest.

A kernel line is lab-output/runs/<line> and report/<line>.json; a scenario's
name is a directory of evidence and of the guest's share. Both are checked
against these patterns wherever they enter (the catalog, a scenario file, a
report column), so each is defined once, below every package that reads them.
"""

from __future__ import annotations

import re

# No separator, no leading dot, nothing a shell or a path reads.
LINE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}")
# No separators, no "..".
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
