"""SIGTERM like Ctrl-C, once: the handler and its installation (no VM)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from lab.interrupts import StopOnce, install, restore


@pytest.fixture
def saved_handlers() -> Iterator[None]:
    """Whatever a test does to SIGINT and SIGTERM, the test runner gets its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
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
def test_install_replaces_sigint_and_sigterm_and_restore_puts_them_back() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    handler = StopOnce()

    previous = install(handler)

    assert signal.getsignal(signal.SIGTERM) is handler
    assert signal.getsignal(signal.SIGINT) is handler
    restore(previous)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("saved_handlers")
def test_an_ignored_signal_stays_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    previous = install(StopOnce())

    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert set(previous) == {signal.SIGTERM}


@pytest.mark.usefixtures("saved_handlers")
def test_a_real_sigterm_becomes_a_keyboard_interrupt() -> None:
    install(StopOnce())

    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at the next bytecode; never reached
