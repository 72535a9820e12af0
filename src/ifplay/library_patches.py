"""Every change ifplay makes to a library's behaviour, each with the library version it was written for.

Upgrading distilabel or lighteval means reviewing this file: each patch names what it changes and
why, and refuses to apply (`require_tested_version`, a one-line `IfplayError`) when the installed
library is not the version it was tested with. `tests/test_library_patches.py` shows, patch by patch,
the behaviour each one fixes.

- `brisk_polling`: distilabel's pipeline scheduler polls every `POLL_SECONDS`, not every 2.5 s.
- `installed_into_pipeline`: lighteval's `Pipeline` builds ifplay's task registry, not its own.
- `patch_details_logger_hashing`: lighteval's details logger hashes `str` under xxhash >= 4.
- `keeps_grad_mode`: torch's global grad mode survives a lighteval call.

Not here, on purpose: changes confined to an object ifplay itself builds and owns for one run, which
leave the library unchanged for every other caller in the process, live next to that object:
`evaluation/kept_answers.keep_answers` wraps `greedy_until` on one eval model instance, and
`training/cpu_dpo.PlainLogProbsDPOTrainer` puts a plain forward back on the models of its own
trainer. Subclasses and public extension points are not patches either: `training/cpu_sft.py` and
`training/cpu_dpo.py` (each names the trl version it was written for), `decoding.drop_finished_rows`,
`kv_cache.append_only_cache`, and `evaluation/registry.IfplayRegistry`, which uses lighteval 0.13's
`Registry` internals and only ever runs through `installed_into_pipeline`, so its version check
covers it. Settings made through a library's public API stay with their callers too:
`langdetect.DetectorFactory.seed` (`evaluation/offline.py`, `constraints/families/language.py`),
`torch.enable_grad()` around training (`training/run.py`), warning filters, environment variables.
"""

import functools
import importlib.metadata
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType, SimpleNamespace
from typing import Any

from ifplay.errors import IfplayError

# The versions the patches below were written for and tested with (pyproject.toml pins the same).
DISTILABEL_TESTED = "==1.5.3"
LIGHTEVAL_TESTED = "==0.13.0"


def installed_version(package: str) -> str | None:
    """The installed distribution version of `package` ("1.5.3"), or None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def require_tested_version(package: str, tested: str) -> None:
    """Raise a one-line `IfplayError` unless the installed `package` satisfies `tested`.

    In: a distribution name ("lighteval") and a PEP 440 specifier ("==0.13.0"). Out: None; the error
    names the package, the installed version and the tested one.
    """
    from packaging.specifiers import SpecifierSet

    installed = installed_version(package)
    if installed is not None and SpecifierSet(tested).contains(installed, prereleases=True):
        return
    found = "is not installed" if installed is None else f"{installed} is installed"
    raise IfplayError(
        f"{package} {found}, but ifplay's patches to it were tested with {package}{tested}: "
        "install the pinned set (scripts/install.sh, constraints.txt) or review "
        "src/ifplay/library_patches.py for the new version"
    )


# distilabel's scheduler sleeps 2.5 s between checks while a stage's steps load, and 0.5 s while
# steps finish: up to ~3 s of idle engine per run, and ifplay runs one pipeline per checkpoint
# chunk. Its module sees this `time` instead, whose sleeps are capped; the checks themselves are a
# lock and a dict lookup, so polling faster costs nothing measurable.
POLL_SECONDS = 0.05


class _BriskTime:
    """The `time` module, except that `sleep` waits at most POLL_SECONDS."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, POLL_SECONDS))


def brisk_polling() -> None:
    """Make distilabel's pipeline scheduler poll every POLL_SECONDS (idempotent).

    Changes: `distilabel.pipeline.base.time` (the module's `time` global, whose `sleep(2.5)` and
    `sleep(0.5)` pace the scheduler) becomes `_BriskTime`. Written for distilabel 1.5.3.
    """
    require_tested_version("distilabel", DISTILABEL_TESTED)
    import distilabel.pipeline.base as scheduler

    if not isinstance(scheduler.time, _BriskTime):
        scheduler.time = _BriskTime()


@contextmanager
def installed_into_pipeline(factory: Callable[..., Any]) -> Iterator[None]:
    """Swap `lighteval.pipeline.Registry` for `factory` while a `Pipeline` is constructed.

    Changes: lighteval's `Pipeline.__init__` calls the `Registry` global of `lighteval.pipeline`, whose
    construction imports every built-in task module (one downloads from GitHub at import time, two
    break on huggingface_hub 2.x); inside the block it calls `factory` (ifplay's registry,
    `evaluation/registry.registry_factory`) instead. The original is restored when the block ends,
    also on an exception. Written for lighteval 0.13.0.
    """
    require_tested_version("lighteval", LIGHTEVAL_TESTED)
    import lighteval.pipeline as pipeline_module

    saved = pipeline_module.Registry
    pipeline_module.Registry = factory
    try:
        yield
    finally:
        pipeline_module.Registry = saved


def xxhash_major(module: ModuleType) -> int:
    """Major version of an imported xxhash module."""
    return int(str(getattr(module, "VERSION", "0")).split(".")[0])


def str_safe_xxhash(module: ModuleType) -> Any:
    """A stand-in for the `xxhash` module whose `xxh64` accepts `str` (encoded as UTF-8)."""

    def xxh64(data: Any = b"", *args: Any, **kwargs: Any) -> Any:
        if isinstance(data, str):
            data = data.encode("utf-8")
        return module.xxh64(data, *args, **kwargs)

    return SimpleNamespace(xxh64=xxh64, VERSION=getattr(module, "VERSION", ""))


def patch_details_logger_hashing() -> None:
    """Let lighteval's details logger hash `str` under xxhash >= 4 (idempotent).

    Changes: xxhash >= 4 refuses `str` input and `lighteval.logging.info_loggers` hashes strings, so
    with xxhash >= 4 its `xxhash` global becomes `str_safe_xxhash`, which UTF-8-encodes strings first:
    exactly what xxhash < 4 did implicitly, so the hashes are unchanged. With xxhash < 4 nothing is
    touched. Written for lighteval 0.13.0 (xxhash 3.8.2 installed, the shim tested on a strict fake).
    """
    require_tested_version("lighteval", LIGHTEVAL_TESTED)
    import xxhash
    from lighteval.logging import info_loggers

    if xxhash_major(xxhash) >= 4 and info_loggers.xxhash is xxhash:
        info_loggers.xxhash = str_safe_xxhash(xxhash)


def keeps_grad_mode(function: Callable[..., Any]) -> Callable[..., Any]:
    """Restore torch's global grad mode after `function`: lighteval's transformers model turns it off
    process-wide (on import and on load), which would break a training run later in the same process.

    In: a function that runs lighteval. Out: the same function, checking lighteval's version when
    called and leaving grad mode as it found it (also on an exception). Written for lighteval 0.13.0
    (`torch.set_grad_enabled(False)` in `models/transformers/transformers_model.py`).
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_tested_version("lighteval", LIGHTEVAL_TESTED)
        import torch

        with torch.set_grad_enabled(torch.is_grad_enabled()):
            return function(*args, **kwargs)

    return wrapper
