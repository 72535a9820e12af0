"""Find data files that ship inside installed wheels, without importing the package, and the
declarations that ship inside ifplay itself.

Some wheels ifplay reads data from import heavy or missing dependencies at import time (the embedded
model's wheel imports `llm`), so they are located through their import spec only.
"""

import importlib.util
from pathlib import Path


def installed_file(package: str, relative: str) -> Path | None:
    """`<package folder>/<relative>` when that file exists in an installed package, else None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / relative
        if candidate.is_file():
            return candidate
    return None


# The pipeline declarations and TRL recipes ifplay ships (a checkout's top-level `pipelines/` and
# `recipes/` link here).
SHIPPED = Path(__file__).resolve().parent / "shipped"


def declaration_path(text: str, beside: Path | None = None) -> Path:
    """A declaration named by `text`: the file itself when it exists; else, for a relative name,
    the file of that name in `beside` (the folder of the declaration that names it), else the
    declaration ifplay ships under that name (`pipelines/...`, `recipes/...`), so the README's
    commands run from any folder; else the path as given (its loader reports it missing)."""
    path = Path(text)
    if path.exists() or path.is_absolute():
        return path
    for folder in (beside, SHIPPED):
        if folder is not None and (folder / path).exists():
            return folder / path
    return path
