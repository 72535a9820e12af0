"""distilabel's scheduler polls briskly under ifplay: sleeps are capped, the rest of `time` is intact."""

import time

import distilabel.pipeline.base as scheduler
import pytest

from ifplay.pipelines import base


def test_scheduler_sleeps_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    base.brisk_polling()
    base.brisk_polling()  # idempotent: wraps once
    assert isinstance(scheduler.time, base._BriskTime)
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    scheduler.time.sleep(2.5)
    scheduler.time.sleep(0.01)
    assert slept == [base.POLL_SECONDS, 0.01]
    assert scheduler.time.perf_counter is time.perf_counter
