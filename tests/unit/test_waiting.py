"""The one wait for the guest: a deadline on a fake clock, and a timeout that names
what was awaited and the last thing seen."""

from __future__ import annotations

import pytest
from fake_guest import FakeClock

from lab.errors import GuestError
from lab.guestvm.waiting import WaitTimeout, wait_until


def test_the_first_true_answer_is_returned_without_waiting_longer() -> None:
    clock, answers = FakeClock(), iter([None, 0, "", "ready line"])

    assert wait_until(clock, lambda: next(answers), 10, "the ready line") == "ready line"
    assert clock.now == pytest.approx(0.15), "three polls of 0.05 s"


def test_a_missed_deadline_names_what_was_awaited_and_the_last_thing_seen() -> None:
    clock = FakeClock()

    with pytest.raises(WaitTimeout) as info:
        wait_until(clock, lambda: False, 30, "'^ready$' from the loader",
                   seen=lambda: "x" * 600 + "still attaching", poll=1.0,
                   tail=lambda: "console tail")

    error = info.value
    assert isinstance(error, GuestError)
    assert str(error).startswith("timed out after 30 s waiting for '^ready$' from the loader; "
                                 "last seen: 'xxx")
    assert str(error).endswith("still attaching'")
    assert len(error.last) == 615 and error.console_tail == "console tail"
    assert 30 <= clock.now <= 31


def test_a_failure_raised_by_the_predicate_ends_the_wait() -> None:
    def loader_died() -> bool:
        raise GuestError("the loader exited")

    with pytest.raises(GuestError, match="the loader exited"):
        wait_until(FakeClock(), loader_died, 30, "the ready line")
