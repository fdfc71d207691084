"""The trial's load: probes at a fixed rate that hanging probes do not slow down, writes, watchers,
and a stop that ends every thread. Waits poll with a deadline; nothing asserts a duration."""

from __future__ import annotations

import threading
import time

from labgen.verify.load import WRITE_EVERY_S, Load, Watcher, pool_size
from labgen.wire.poll import wait_for


def test_the_pool_covers_the_probes_one_timeout_can_hold() -> None:
    assert pool_size(20, 10.0) == 204
    assert pool_size(20, 0.5) == 14
    assert pool_size(100, 120.0) == 1004  # capped: probes beyond 10 s may slow the rate


def test_probes_keep_their_rate_while_earlier_ones_hang() -> None:
    release = threading.Event()
    sent: list[float] = []
    lock = threading.Lock()

    def probe(at: float) -> None:
        with lock:
            sent.append(at)
        release.wait(10)  # a dead master: the answer does not come

    load = Load(50.0, probe, None, probe_timeout=1.0)
    load.start()
    try:
        # Twenty probes are under way although none has answered: each went out on its own.
        assert wait_for(lambda: len(sent) >= 20, timeout=10, interval=0.02)
    finally:
        release.set()
        load.stop()
    assert sent == sorted(sent) and len(set(sent)) == len(sent)


def test_writes_are_numbered_and_watchers_step_until_the_stop() -> None:
    writes: list[int] = []
    steps: list[float] = []
    started = time.monotonic()
    load = Load(
        10.0, lambda at: None, writes.append, probe_timeout=1.0, watchers=[Watcher(0.05, lambda: steps.append(1.0))]
    )
    load.start()
    assert load.running
    assert wait_for(lambda: len(writes) >= 3 and len(steps) >= 3, timeout=10, interval=0.02)
    load.stop()
    assert not load.running
    done_writes, done_steps = len(writes), len(steps)
    assert writes[:3] == [0, 1, 2]
    assert time.monotonic() - started >= 3 * WRITE_EVERY_S  # a write every WRITE_EVERY_S, the first after one
    time.sleep(2 * WRITE_EVERY_S)
    assert (len(writes), len(steps)) == (done_writes, done_steps)  # nothing runs after the stop


def test_threads_of_their_own_run_beside_the_load() -> None:
    ran = threading.Event()
    load = Load(5.0, lambda at: None, None, probe_timeout=1.0, also=[ran.set])
    load.start()
    assert ran.wait(5)
    load.stop()
