"""Errors the lab reports to a user.

Every message says what failed and what the user can do about it, so the CLI can
print ``str(error)`` without a traceback.
"""

from __future__ import annotations


class LabError(Exception):
    """Base of every error the lab reports to a user: message says what failed and what to do."""


class IntegrityError(LabError):
    """A downloaded file's checksum or size does not match what the signed index promised."""


class SignatureError(LabError):
    """An InRelease file's signature is not valid against the trusted keyring."""


class PackageNotFound(LabError):
    """The requested package (or version) is not in the suite's index."""


class GuestError(LabError):
    """The guest misbehaved: it did not boot, died, or a step missed its deadline.

    Carries the tail of the guest console so the report can show it.
    """

    def __init__(self, message: str, console_tail: str = "", panic: str | None = None) -> None:
        super().__init__(message)
        self.console_tail = console_tail
        self.panic = panic  # the kernel's panic message, when that is why the guest went away
