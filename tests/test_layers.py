"""Layers import one way: the command line on top, the loop and pipelines below it, the constraint
library and the sandbox at the bottom. A module importing upward fails here, naming the import."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ifplay"

# package (or module) -> ifplay packages it must never import
FORBIDDEN = {
    "loop": ("commands", "cli"),
    "pipelines": ("commands", "cli", "loop"),
    "training": ("commands", "cli", "loop", "pipelines"),
    "evaluation": ("commands", "cli", "loop", "pipelines", "training"),
    "steps": ("commands", "cli", "loop", "training", "evaluation"),
    "constraints": ("commands", "cli", "loop", "pipelines", "training", "evaluation", "steps"),
    "sandbox": (
        "commands", "cli", "loop", "pipelines", "training", "evaluation", "steps", "constraints",
    ),
}  # fmt: skip


def imported_ifplay_packages(path: Path) -> set[str]:
    """The first component after `ifplay.` of every import in the file (top level or nested)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "ifplay" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_never_import_upward(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, layer
    upward = [
        f"{path.relative_to(PACKAGE)} imports ifplay.{package}"
        for path in files
        for package in sorted(imported_ifplay_packages(path) & set(FORBIDDEN[layer]))
    ]
    assert not upward, upward


def test_the_check_sees_nested_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ifplay.commands.train import run\n")
    assert imported_ifplay_packages(module) == {"commands"}
