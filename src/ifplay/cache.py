"""Where ifplay keeps what it derives once and reuses (converted models, rebuilt NLTK data).

`IFPLAY_CACHE` overrides the default `~/.cache/ifplay` (or `$XDG_CACHE_HOME/ifplay`).
"""

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return (and create) `<ifplay cache>/<parts...>`."""
    root = os.environ.get("IFPLAY_CACHE")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "ifplay"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
