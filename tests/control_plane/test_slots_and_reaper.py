"""vMotion slots (row V8, no hold-and-wait) and the reaper (one thread per part for deadlines)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from control_plane_fakes import reaper_drained, reaper_held, wait_until

from linkedmode.migration.slots import VMotionSlots
from linkedmode.model.migration import MovePriority
from linkedmode.reaper import Reaper

# -- slots ----------------------------------------------------------------------------------------


def test_try_acquire_takes_up_to_the_limit_then_says_no() -> None:
    slots = VMotionSlots()
    assert [slots.try_acquire("host-1", 2) for _ in range(3)] == [True, True, False]
    assert slots.in_use("host-1") == 2 and slots.peak("host-1") == 2
    assert slots.try_acquire("host-2", 2)                 # another host counts on its own
    slots.release("host-1")
    assert slots.try_acquire("host-1", 2)
    assert slots.peak("host-1") == 2


def test_a_release_never_goes_below_zero() -> None:
    slots = VMotionSlots()
    slots.release("host-1")
    assert slots.in_use("host-1") == 0
    assert slots.try_acquire("host-1", 1) and not slots.try_acquire("host-1", 1)


def test_wait_for_release_wakes_on_a_release() -> None:
    slots = VMotionSlots()
    assert slots.try_acquire("host-1", 1)
    seen = slots.releases()
    releaser = threading.Timer(0.05, slots.release, args=("host-1",))
    releaser.start()
    started = time.monotonic()
    slots.wait_for_release(seen, timeout=10.0)
    releaser.join()
    assert time.monotonic() - started < 5.0               # woken, not timed out
    assert slots.releases() == seen + 1 and slots.try_acquire("host-1", 1)


def test_wait_for_release_returns_at_once_when_a_release_came_since_reading() -> None:
    slots = VMotionSlots()
    seen = slots.releases()
    slots.release("host-1")
    started = time.monotonic()
    slots.wait_for_release(seen, timeout=10.0)
    assert time.monotonic() - started < 5.0


def test_wait_for_release_times_out_without_one() -> None:
    slots = VMotionSlots()
    seen = slots.releases()
    started = time.monotonic()
    slots.wait_for_release(seen, timeout=0.05)
    assert 0.04 <= time.monotonic() - started < 5.0
    assert slots.releases() == seen


def refused_high_priority_waiter(slots: VMotionSlots) -> None:
    """host-1 full (limit 1); migration 7, of high priority, asks and is refused: it now claims the next slot."""
    assert slots.try_acquire("host-1", 1)
    assert not slots.try_acquire("host-1", 1, priority=MovePriority.HIGH, waiter=7)
    slots.release("host-1")


def test_a_waiting_move_of_higher_priority_gets_the_freed_slot_first() -> None:
    slots = VMotionSlots()
    refused_high_priority_waiter(slots)
    assert not slots.try_acquire("host-1", 1, waiter=8)                    # default priority: after it
    assert not slots.try_acquire("host-1", 1)
    assert slots.try_acquire("host-1", 1, priority=MovePriority.HIGH, waiter=7)
    assert slots.in_use("host-1") == 1


def test_a_claim_holds_only_against_lower_priorities_and_only_on_its_host() -> None:
    slots = VMotionSlots()
    refused_high_priority_waiter(slots)
    assert slots.try_acquire("host-2", 1)                                   # another host
    assert slots.try_acquire("host-1", 1, priority=MovePriority.HIGH, waiter=9)   # an equal priority


def test_a_claim_ends_when_withdrawn() -> None:
    slots = VMotionSlots()
    refused_high_priority_waiter(slots)
    slots.withdraw("host-1", 7)
    assert slots.try_acquire("host-1", 1)


def test_a_claim_lapses_once_its_move_stops_asking() -> None:
    slots = VMotionSlots(claims_last=0.05)                  # (that it holds meanwhile: the tests above, 2 s)
    refused_high_priority_waiter(slots)
    time.sleep(0.1)
    assert slots.try_acquire("host-1", 1)


# -- reaper ---------------------------------------------------------------------------------------


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    part = Reaper("vc-test")
    yield part
    part.stop()


def reaper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vc-test-reaper"]


def test_after_runs_once(reaper: Reaper) -> None:
    ran: list[float] = []
    handle = reaper.after(0.01, lambda: ran.append(time.monotonic()), name="once")
    wait_until(lambda: len(ran) == 1, what="the first run")
    time.sleep(0.05)
    assert len(ran) == 1
    assert not handle.pending and reaper.pending() == []


def test_after_does_not_run_before_it_is_due(reaper: Reaper) -> None:
    ran = threading.Event()
    reaper.after(30.0, ran.set, name="later")
    time.sleep(0.05)
    assert not ran.is_set() and reaper.pending() == ["later"]


def test_every_repeats_until_cancelled(reaper: Reaper) -> None:
    ran: list[int] = []
    handle = reaper.every(0.01, lambda: ran.append(1), name="tick")
    wait_until(lambda: len(ran) >= 3, what="three runs")
    handle.cancel()
    after_cancel = len(ran)
    time.sleep(0.05)
    assert len(ran) <= after_cancel + 1                   # at most the run that was under way
    assert reaper.pending() == [] and not handle.pending


def test_cancel_before_due_prevents_the_run(reaper: Reaper) -> None:
    ran, kept = threading.Event(), threading.Event()
    with reaper_held(reaper):                             # both fall due while the reaper is busy
        reaper.after(0.0, ran.set, name="cancelled").cancel()
        reaper.after(0.0, kept.set, name="kept")
    reaper_drained(reaper)
    assert kept.is_set() and not ran.is_set()


def test_stop_ends_the_thread_and_nothing_more_runs(reaper: Reaper) -> None:
    ran = threading.Event()
    reaper.after(0.01, lambda: None)
    wait_until(lambda: reaper_threads() != [], what="the reaper's thread")
    reaper.stop()
    assert reaper_threads() == []
    late = reaper.after(0.0, ran.set, name="after stop")
    time.sleep(0.05)
    assert not ran.is_set() and not late.pending and reaper.pending() == []


def test_a_callback_that_raises_does_not_stop_the_reaper(reaper: Reaper, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("scheduled work broke")

    ran = threading.Event()
    reaper.after(0.0, broken, name="broken")
    reaper.after(0.02, ran.set, name="next")
    assert ran.wait(5.0)
    assert "vc-test: scheduled work 'broken' failed" in caplog.text


def test_a_repeated_callback_that_raises_keeps_its_schedule(reaper: Reaper) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("scheduled work broke")

    handle = reaper.every(0.01, broken, name="broken tick")
    wait_until(lambda: len(calls) >= 3, what="three runs")
    handle.cancel()
    assert reaper.pending() == []


def test_one_thread_serves_every_scheduled_work(reaper: Reaper) -> None:
    ran: list[str] = []

    def work() -> None:
        ran.append(threading.current_thread().name)

    for i in range(20):
        reaper.after(0.001 * i, work, name=f"w{i}")
    wait_until(lambda: len(ran) == 20, what="twenty runs")
    assert set(ran) == {"vc-test-reaper"} and len(reaper_threads()) == 1
