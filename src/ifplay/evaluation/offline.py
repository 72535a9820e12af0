"""Make lighteval 0.13 import, score and log without touching the network (no edits in site-packages).

Three problems are solved here; the fourth (lighteval importing every built-in task module at start-up,
one of which downloads from GitHub and two of which break on huggingface_hub 2.x) is solved by
`ifplay.evaluation.registry`, which only ever loads ifplay's own `evals/` modules.

1. NLTK `punkt_tab`: lighteval's IFEval instruction module calls `nltk.download` at import time when the
   data is missing, and its checkers need it. `ensure_punkt()` rebuilds it locally (`nltk_data.py`).
2. langdetect: the `language:response_language` and case checkers call `langdetect.detect`, which is
   randomised unless `DetectorFactory.seed` is set; we fix it at 0 so the same response always gets the
   same score (the official implementation leaves it unseeded).
3. xxhash >= 4 refuses `str` input, and lighteval's details logger hashes strings: with xxhash >= 4
   the logger's `xxhash` reference is swapped for a shim that UTF-8-encodes strings first
   (`ifplay.library_patches.patch_details_logger_hashing`, where every library patch lives).

The langdetect seed is set here rather than in `ifplay.library_patches`: it is langdetect's public,
documented switch for deterministic results, not a replacement of library code.
"""

from ifplay.evaluation.nltk_data import ensure_punkt
from ifplay.library_patches import patch_details_logger_hashing

LANGDETECT_SEED = 0
_prepared = False


def prepare_offline() -> None:
    """Idempotent: NLTK data on the path, deterministic langdetect, xxhash-4-safe lighteval logging."""
    global _prepared
    if _prepared:
        return
    ensure_punkt()
    _seed_langdetect()
    patch_details_logger_hashing()
    _prepared = True


def _seed_langdetect() -> None:
    import langdetect

    langdetect.DetectorFactory.seed = LANGDETECT_SEED
