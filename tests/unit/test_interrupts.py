"""SIGTERM and SIGHUP like Ctrl-C, once: the handler and its installation, and a closed
terminal that must not cut the teardown short (no VM)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from lab import interrupts
from lab.interrupts import StopOnce, install, restore, silence_hung_up_terminals

STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@pytest.fixture
def saved_handlers() -> Iterator[None]:
    """Whatever a test does to the stop signals, the test runner gets its own back."""
    saved = {s: signal.getsignal(s) for s in STOP}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_the_first_stop_signal_interrupts_and_later_ones_only_say_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    handler = StopOnce()

    with pytest.raises(KeyboardInterrupt, match="SIGTERM received"):
        handler(signal.SIGTERM, None)
    handler(signal.SIGINT, None)  # the teardown it would cut short goes on
    handler(signal.SIGTERM, None)

    assert handler.received == [signal.SIGTERM, signal.SIGINT, signal.SIGTERM]
    assert capsys.readouterr().err.count("received while stopping") == 2
    assert handler.describe() == ("stopped by SIGTERM: torn down, the finished cells kept; "
                                  "SIGINT, SIGTERM waited for that")


def test_a_run_nothing_stopped_says_nothing_about_signals() -> None:
    assert StopOnce().describe() is None


@pytest.mark.usefixtures("saved_handlers")
def test_install_replaces_sigint_sigterm_and_sighup_and_restore_puts_them_back() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    handler = StopOnce()

    previous = install(handler)

    assert signal.getsignal(signal.SIGTERM) is handler
    assert signal.getsignal(signal.SIGINT) is handler
    assert signal.getsignal(signal.SIGHUP) is handler, "a closed terminal tears down too"
    restore(previous)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("saved_handlers")
def test_an_ignored_signal_stays_ignored() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not what the runner got: under nohup
    signal.signal(signal.SIGHUP, signal.SIG_DFL)   # SIGHUP comes ignored
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    previous = install(StopOnce())

    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert set(previous) == {signal.SIGTERM, signal.SIGHUP}


@pytest.mark.usefixtures("saved_handlers")
def test_a_real_sigterm_becomes_a_keyboard_interrupt() -> None:
    install(StopOnce())

    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at the next bytecode; never reached


class Guard:
    """Catches a signal the code under test failed to take over, instead of dying of it."""

    def __init__(self) -> None:
        self.caught: list[int] = []

    def __call__(self, signum: int, frame: object) -> None:
        self.caught.append(signum)


@pytest.mark.usefixtures("saved_handlers")
def test_a_real_sighup_becomes_a_keyboard_interrupt() -> None:
    guard = Guard()
    signal.signal(signal.SIGHUP, guard)
    install(StopOnce())

    with pytest.raises(KeyboardInterrupt, match="SIGHUP received"):
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(5)  # the handler runs at the next bytecode; never reached
    assert guard.caught == []


def test_sighup_first_points_a_hung_up_terminal_at_dev_null(
        monkeypatch: pytest.MonkeyPatch) -> None:
    silenced: list[str] = []
    monkeypatch.setattr(interrupts, "silence_hung_up_terminals",
                        lambda: silenced.append("done") or [])
    handler = StopOnce()

    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGHUP, None)
    handler(signal.SIGHUP, None)  # its notice goes to stderr, which must not fail

    assert silenced == ["done", "done"]
    with pytest.raises(KeyboardInterrupt):
        StopOnce()(signal.SIGTERM, None)
    assert silenced == ["done", "done"], "only a hangup closes a terminal"


@pytest.fixture
def fds() -> Iterator[list[int]]:
    """Descriptors a test opens; each closed afterwards."""
    opened: list[int] = []
    yield opened
    for fd in opened:
        os.close(fd)


def test_only_the_descriptors_of_a_hung_up_terminal_are_pointed_at_dev_null(
        fds: list[int]) -> None:
    master, slave = os.openpty()
    copy = os.dup(slave)  # like the terminal pytest's capture keeps aside
    live_master, live = os.openpty()
    read_end, write_end = os.pipe()
    null = os.open(os.devnull, os.O_WRONLY)
    fds += [slave, copy, live_master, live, read_end, write_end, null]
    os.close(master)  # the terminal window is closed
    with pytest.raises(OSError, match="Input/output error"):
        os.write(slave, b"guest powered off\n")

    changed = silence_hung_up_terminals([slave, copy, live, write_end, null])

    assert changed == [slave, copy]
    assert os.write(slave, b"guest powered off\n") == 18, "a write goes nowhere, but works"
    assert os.write(copy, b"x") == 1
    assert os.isatty(live), "an open terminal is left alone"
    assert os.write(write_end, b"y") == 1 and os.read(read_end, 1) == b"y"


def test_with_no_descriptors_given_every_one_of_the_process_is_looked_at() -> None:
    assert silence_hung_up_terminals() == []  # the test runner has no hung-up terminal
