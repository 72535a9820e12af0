"""Render ifplay's prompt templates (`steps/templates/*.jinja`)."""

from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ifplay.steps", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render_template(name: str, **values: Any) -> str:
    """Render `templates/<name>.jinja` with `values` (a missing value is an error)."""
    return _environment().get_template(f"{name}.jinja").render(**values).strip()
