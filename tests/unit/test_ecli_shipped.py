"""The lab's ecli and ecc import modules of their own in the guest: each must be
among the files the lab installs there (lab.guestvm.guest_files), or the tool
fails with an ImportError only once a guest runs it."""

from __future__ import annotations

from pathlib import Path

from lab.guestvm import guest_files

IN_GUEST = Path(__file__).resolve().parents[2] / "lab" / "in_guest"


def test_every_module_of_the_guest_tools_is_installed_in_the_guest() -> None:
    modules = {path.name for path in IN_GUEST.glob("*.py") if path.name != "__init__.py"}
    assert modules <= set(guest_files.MODULES)
    assert set(guest_files.guest_files()) >= modules | {"ecli", "ecc"}
