"""Recipe overrides on the command line: `--set KEY=VALUE` options, read and written.

`parse_settings` reads the options `ifplay train` gets; `setting_options` writes them for a training
process the loop launches (`accelerate launch ... ifplay train`), so both ends agree on the format.
"""

import math
from typing import Any

YAML_DOCUMENT_END = "...\n"  # what PyYAML appends to a plain scalar document


def parse_settings(items: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` items -> recipe overrides, each value parsed as YAML (`2` -> 2)."""
    import yaml

    from ifplay.errors import IfplayError

    overrides: dict[str, Any] = {}
    for item in items:
        key, equals, text = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise IfplayError(f"--set: expected KEY=VALUE, got {item!r}")
        try:
            overrides[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise IfplayError(f"--set: {key}: the value is not valid YAML: {text!r}") from None
    return overrides


def setting_options(overrides: dict[str, Any]) -> list[str]:
    """The `--set KEY=VALUE` options that `parse_settings` reads back as `overrides`."""
    import yaml

    options: list[str] = []
    for key, value in overrides.items():
        text = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
        options += ["--set", f"{key}={text.removesuffix(YAML_DOCUMENT_END).strip()}"]
    return options
