"""distilabel's scheduler polls briskly under ifplay: sleeps are capped, the rest of `time` is intact."""

import time

import distilabel.pipeline.base as scheduler
import pytest

from ifplay import library_patches
from ifplay.pipelines import base


def test_scheduler_sleeps_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    library_patches.brisk_polling()
    library_patches.brisk_polling()  # idempotent: wraps once
    assert isinstance(scheduler.time, library_patches._BriskTime)
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    scheduler.time.sleep(2.5)
    scheduler.time.sleep(0.01)
    assert slept == [library_patches.POLL_SECONDS, 0.01]
    assert scheduler.time.perf_counter is time.perf_counter


class _Done:
    """What `run_distilabel` returns, as far as `run_checkpointed` reads it."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def to_list(self) -> list[dict]:
        return self.rows


def test_checkpointed_chunks_are_keyed_by_their_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A run on the first rows and a later run on more share the chunks they have in common; a chunk
    whose rows changed is computed again, never read from an older run."""
    monkeypatch.setenv("IFPLAY_CACHE", str(tmp_path))
    monkeypatch.setattr(
        base, "run_distilabel", lambda chunk: _Done([dict(r, done=1) for r in chunk])
    )
    computed: list[list[int]] = []

    def build(chunk: list[dict]) -> list[dict]:
        computed.append([row["i"] for row in chunk])
        return chunk

    rows = [{"i": i} for i in range(10)]
    name = base.pipeline_name("test", "run", {"setting": 1})
    first = base.run_checkpointed(name, rows[:6], 3, build)
    assert computed == [[0, 1, 2], [3, 4, 5]]
    full = base.run_checkpointed(name, rows, 3, build)
    assert computed[2:] == [[6, 7, 8], [9]] and full[:6] == first
    assert [row["i"] for row in full] == list(range(10)) and all(row["done"] for row in full)
    changed = [{"i": 100}, *rows[1:]]
    base.run_checkpointed(name, changed, 3, build)
    assert computed[4:] == [[100, 1, 2]]
    assert base.pipeline_name("test", "run", {"setting": 2}) != name
