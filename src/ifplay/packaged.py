"""Find data files that ship inside installed wheels, without importing the package.

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
