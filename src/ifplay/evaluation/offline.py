"""Make lighteval 0.13 import, score and log without touching the network (no edits in site-packages).

Three problems are solved here; the fourth (lighteval importing every built-in task module at start-up,
one of which downloads from GitHub and two of which break on huggingface_hub 2.x) is solved by
`ifplay.evaluation.registry`, which only ever loads ifplay's own `evals/` modules.

1. NLTK `punkt_tab`: lighteval's IFEval instruction module calls `nltk.download` at import time when the
   data is missing, and its checkers need it. `ensure_punkt()` rebuilds it locally (`nltk_data.py`).
2. langdetect: the `language:response_language` and case checkers call `langdetect.detect`, which is
   randomised unless `DetectorFactory.seed` is set; we fix it at 0 so the same response always gets the
   same score (the official implementation leaves it unseeded).
3. xxhash >= 4 refuses `str` input, and lighteval's details logger hashes strings. With xxhash >= 4 the
   logger's `xxhash` reference is swapped for a shim that UTF-8-encodes strings first, which is exactly
   what xxhash < 4 did implicitly, so the hashes are unchanged. With xxhash < 4 nothing is touched.
"""

from types import ModuleType, SimpleNamespace
from typing import Any

from ifplay.evaluation.nltk_data import ensure_punkt

LANGDETECT_SEED = 0
_prepared = False


def prepare_offline() -> None:
    """Idempotent: NLTK data on the path, deterministic langdetect, xxhash-4-safe lighteval logging."""
    global _prepared
    if _prepared:
        return
    ensure_punkt()
    _seed_langdetect()
    _patch_details_logger_hashing()
    _prepared = True


def _seed_langdetect() -> None:
    import langdetect

    langdetect.DetectorFactory.seed = LANGDETECT_SEED


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


def _patch_details_logger_hashing() -> None:
    import xxhash
    from lighteval.logging import info_loggers

    if xxhash_major(xxhash) >= 4 and info_loggers.xxhash is xxhash:
        info_loggers.xxhash = str_safe_xxhash(xxhash)
