"""wire.poll: a value as soon as there is one, None at the deadline, an early end on stop; the
waits are driven by events and a deadline, and only then is the elapsed time checked."""

from __future__ import annotations

import threading
import time

from labgen.wire.poll import Deadline, wait_for


def test_the_first_truthy_value_is_returned_at_once() -> None:
    calls: list[int] = []

    def check() -> int | None:
        calls.append(1)
        return 7 if len(calls) == 3 else None

    assert wait_for(check, timeout=30, interval=0.01) == 7
    assert len(calls) == 3


def test_false_and_none_mean_not_yet_but_other_falsy_values_count() -> None:
    assert wait_for(lambda: 0, timeout=1) == 0
    assert wait_for(lambda: frozenset(), timeout=1) == frozenset()
    assert wait_for(lambda: False, timeout=0) is None


def test_the_check_runs_at_least_once_even_with_no_time() -> None:
    calls: list[int] = []
    assert wait_for(lambda: calls.append(1), timeout=0) is None
    assert calls == [1]


def test_none_at_the_deadline_and_not_long_after_it() -> None:
    started = time.monotonic()
    calls: list[float] = []
    assert wait_for(lambda: calls.append(time.monotonic()), timeout=0.3, interval=0.05) is None
    elapsed = time.monotonic() - started
    assert elapsed >= 0.3  # never gives up early
    assert calls[-1] - started >= 0.3 - 1e-3  # the last look is at the deadline, not one interval before
    assert len(calls) >= 2


def test_a_stop_ends_the_wait_early() -> None:
    stop = threading.Event()
    looked = threading.Event()

    def check() -> None:
        looked.set()
        return None

    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(wait_for(check, timeout=60, interval=0.5, stop=stop)))
    started = time.monotonic()
    waiter.start()
    assert looked.wait(10)
    stop.set()
    waiter.join(10)
    assert not waiter.is_alive() and result == [None]
    assert time.monotonic() - started < 60  # ended by the stop, not by the deadline


def test_a_deadline_counts_down_and_expires() -> None:
    deadline = Deadline(0.05)
    assert 0 < deadline.remaining() <= 0.05 and not deadline.expired()
    assert wait_for(deadline.expired, timeout=10, interval=0.01)
    assert deadline.remaining() == 0.0
    assert Deadline(-5).expired()
