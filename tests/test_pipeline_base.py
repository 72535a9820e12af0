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


def test_a_chunk_the_engine_failed_on_is_never_kept_and_answered_data_has_no_marker(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """`kind: generate` through a real distilabel pipeline: an engine that dies after its first
    batch fails the run in one line naming the step, with no checkpoint; a healthy one gives the
    answers, and the failure marker never reaches the data."""
    import json

    from rule_llms import FailingLLM

    from ifplay.config import DataSource, ModelSpec
    from ifplay.errors import IfplayError
    from ifplay.pipelines.generate import GenerateConfig, run_generate

    monkeypatch.setenv("IFPLAY_CACHE", str(tmp_path / "cache"))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"Question {i}?"}) + "\n" for i in range(4)))
    config = GenerateConfig(
        name="failing", data=DataSource(path=str(prompts)), model=ModelSpec(batch_size=2)
    )
    dying = FailingLLM(answer="Yes.", good_calls=1)
    monkeypatch.setattr("ifplay.models.build_llm", lambda spec: dying)
    with pytest.raises(IfplayError, match=r"the engine failed on 2 of 4 rows \(step "):
        run_generate(config, tmp_path)
    assert not list((tmp_path / "cache" / "checkpoints").rglob("chunk-*.jsonl"))
    healthy = FailingLLM(answer="Yes.", good_calls=99)
    monkeypatch.setattr("ifplay.models.build_llm", lambda spec: healthy)
    data = run_generate(config, tmp_path).splits["data"]
    assert data["generation"] == ["Yes."] * 4 and "engine_failed" not in data.column_names
