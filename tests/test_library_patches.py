"""Each library patch fixes what its docstring says, and refuses an untested library version."""

import sys
import time
import types
from typing import Any

import pytest

from ifplay import library_patches
from ifplay.errors import IfplayError

UNTESTED = "99.0.0"


def test_brisk_polling_caps_the_scheduler_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    import distilabel.pipeline.base as scheduler

    monkeypatch.setattr(scheduler, "time", time)  # distilabel's own polling; restored afterwards
    library_patches.brisk_polling()
    started = time.perf_counter()
    scheduler.time.sleep(5)  # what the scheduler's 2.5 s wait becomes: one short poll
    assert time.perf_counter() - started < 1.0
    assert scheduler.time.monotonic is time.monotonic


def _fake_pipeline(calls: list[Any]) -> Any:
    """What lighteval's `Pipeline._init_tasks_and_requests` reads of `self`, with no model."""
    parameters = types.SimpleNamespace(
        load_tasks_multilingual=False,
        custom_tasks_directory=None,
        dataset_loading_processes=1,
        max_samples=None,
    )
    tracker = types.SimpleNamespace(task_config_logger=types.SimpleNamespace(log=calls.append))
    return types.SimpleNamespace(
        pipeline_parameters=parameters, _metric_options=None, evaluation_tracker=tracker
    )


def test_lighteval_pipeline_builds_the_given_registry_only_inside_the_block() -> None:
    import lighteval.pipeline as pipeline_module

    original = pipeline_module.Registry
    built: list[dict[str, Any]] = []

    class Registry:
        def __init__(self, **kwargs: Any) -> None:
            built.append(kwargs)

        def load_tasks(self) -> dict[str, Any]:
            return {}

    pipeline = _fake_pipeline([])
    with library_patches.installed_into_pipeline(Registry):
        pipeline_module.Pipeline._init_tasks_and_requests(pipeline, "ifplay_task|0")
    assert isinstance(pipeline.registry, Registry) and built[0]["tasks"] == "ifplay_task|0"
    assert pipeline_module.Registry is original
    with pytest.raises(RuntimeError), library_patches.installed_into_pipeline(Registry):
        raise RuntimeError("pipeline construction failed")
    assert pipeline_module.Registry is original


def test_details_logger_hashes_str_under_a_strict_xxhash(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an xxhash that refuses `str` (as xxhash >= 4 does), lighteval's details logger fails until
    patched, then logs the hash xxhash 3 gives for the same text."""
    import xxhash
    from lighteval.logging import info_loggers
    from lighteval.models.model_output import ModelResponse
    from lighteval.tasks.requests import Doc

    def strict_xxh64(data: Any = b"", *args: Any) -> Any:
        if isinstance(data, str):
            raise TypeError("Strings must be encoded before hashing")
        return xxhash.xxh64(data, *args)

    strict = types.SimpleNamespace(xxh64=strict_xxh64, VERSION="4.0.0")
    monkeypatch.setitem(sys.modules, "xxhash", strict)
    monkeypatch.setattr(info_loggers, "xxhash", strict)
    doc = Doc(query="quéry", choices=["a"], gold_index=0)
    response = ModelResponse(input_tokens=[1, 2], output_tokens=[[3]])
    with pytest.raises(TypeError):
        info_loggers.DetailsLogger().log("task", doc, response, {})
    library_patches.patch_details_logger_hashing()
    logger = info_loggers.DetailsLogger()
    logger.log("task", doc, response, {})
    assert logger.hashes["task"][0].example == xxhash.xxh64("quéry").hexdigest()


def test_details_logger_is_untouched_under_xxhash_3() -> None:
    import xxhash
    from lighteval.logging import info_loggers

    assert library_patches.xxhash_major(xxhash) < 4  # the pinned xxhash (constraints.txt)
    library_patches.patch_details_logger_hashing()
    assert info_loggers.xxhash is xxhash


@pytest.fixture
def grad_on() -> Any:
    """Grad mode on for the test (importing lighteval turns it off), as it was afterwards."""
    import torch

    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    yield
    torch.set_grad_enabled(previous)


def test_grad_mode_survives_a_call_that_turns_it_off(grad_on: None) -> None:
    import torch

    def lighteval_like(fail: bool = False) -> str:
        torch.set_grad_enabled(False)  # what lighteval's transformers model does process-wide
        if fail:
            raise RuntimeError("eval failed")
        return "done"

    guarded = library_patches.keeps_grad_mode(lighteval_like)
    assert guarded() == "done" and torch.is_grad_enabled()
    with pytest.raises(RuntimeError):
        guarded(fail=True)
    assert torch.is_grad_enabled()
    with torch.no_grad():
        guarded()
        assert not torch.is_grad_enabled()  # kept, not forced on
    lighteval_like()
    assert not torch.is_grad_enabled()  # unguarded, the call leaves grad off


def test_the_installed_libraries_are_the_tested_ones() -> None:
    library_patches.require_tested_version("distilabel", library_patches.DISTILABEL_TESTED)
    library_patches.require_tested_version("lighteval", library_patches.LIGHTEVAL_TESTED)


def test_an_untested_version_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_patches, "installed_version", lambda package: UNTESTED)
    with pytest.raises(IfplayError) as error:
        library_patches.require_tested_version("lighteval", "==0.13.0")
    message = str(error.value)
    assert "\n" not in message
    assert "lighteval 99.0.0 is installed" in message and "lighteval==0.13.0" in message
    assert "library_patches.py" in message
    monkeypatch.setattr(library_patches, "installed_version", lambda package: None)
    with pytest.raises(IfplayError, match="^distilabel is not installed"):
        library_patches.require_tested_version("distilabel", "==1.5.3")


def test_patches_refuse_to_apply_on_an_untested_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import distilabel.pipeline.base as scheduler
    import lighteval.pipeline as pipeline_module

    monkeypatch.setattr(scheduler, "time", time)
    monkeypatch.setattr(library_patches, "installed_version", lambda package: UNTESTED)
    with pytest.raises(IfplayError, match="distilabel 99.0.0"):
        library_patches.brisk_polling()
    assert scheduler.time is time
    original = pipeline_module.Registry
    with (
        pytest.raises(IfplayError, match="lighteval 99.0.0"),
        library_patches.installed_into_pipeline(dict),
    ):
        pass
    assert pipeline_module.Registry is original
    with pytest.raises(IfplayError, match="lighteval 99.0.0"):
        library_patches.patch_details_logger_hashing()
    with pytest.raises(IfplayError, match="lighteval 99.0.0"):
        library_patches.keeps_grad_mode(lambda: None)()
