"""Parsing of the plugin's command-line options (plain functions, unit-tested)."""

from __future__ import annotations

from collections.abc import Iterable


def parse_kernels(values: Iterable[str], known: Iterable[str]) -> list[str]:
    """--kernel may repeat and take comma lists; every line must be in the catalog."""
    known = list(known)
    lines: list[str] = []
    for value in values:
        for line in (part.strip() for part in value.split(",")):
            if line == "all":
                lines.extend(k for k in known if k not in lines)
            elif line and line not in lines:
                lines.append(line)
    unknown = [line for line in lines if line not in known]
    if unknown:
        raise ValueError(f"--kernel {', '.join(unknown)}: not in the catalog "
                         f"(known: {', '.join(known)})")
    return lines
