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


def test_overlapping_blocks_in_threads_end_with_the_collector_on() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other)
    with collector_paused():
        worker.start()
        assert inside.wait(5)
    assert not gc.isenabled()                          # the other thread's block is still open
    release.set()
    worker.join(5)
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
