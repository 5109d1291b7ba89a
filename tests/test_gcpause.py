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
