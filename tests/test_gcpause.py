"""The collector pause used while geometries are created in bulk restores the collector as it found it."""

from __future__ import annotations

import gc
import threading

import pytest

from sanxian_yidan.gcpause import collector_paused


@pytest.fixture(autouse=True)
def _collector_back_on():
    yield
    gc.enable()


def test_paused_inside_restored_after_also_when_the_block_fails() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():                       # nested: still paused
            assert not gc.isenabled()
        assert not gc.isenabled()                      # the inner block does not end the outer pause
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("reader failed")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_other_threads_leave_the_collector_running() -> None:
    """A server's or a Dask worker's threads reading side by side could otherwise keep it off for good."""
    gc.enable()
    seen: list[bool] = []

    def other() -> None:
        with collector_paused():
            seen.append(gc.isenabled())

    worker = threading.Thread(target=other)
    worker.start()
    worker.join(5)
    assert seen == [True] and gc.isenabled()
    with collector_paused():                           # the main thread's block, around another thread's
        worker = threading.Thread(target=other)
        worker.start()
        worker.join(5)
        assert not gc.isenabled()                      # the other thread's block did not end the pause
    assert gc.isenabled()


def test_a_bulk_block_ends_with_one_full_collection(monkeypatch) -> None:
    from sanxian_yidan.parallel import performance_settings

    threshold = performance_settings().collector.full_collection_after_objects
    gc.enable()
    gc.collect()
    full_before = gc.get_stats()[2]["collections"]
    with collector_paused():
        kept = [[] for _ in range(threshold + 10)]     # tracked objects, as geometries are
    assert gc.get_stats()[2]["collections"] == full_before + 1
    assert gc.get_count()[0] < threshold               # examined once, moved to the oldest generation
    with collector_paused():
        few = [[] for _ in range(10)]
    assert gc.get_stats()[2]["collections"] == full_before + 1  # a small block costs no collection
    assert len(kept) and len(few)
