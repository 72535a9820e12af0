"""A TRL recipe: the YAML that `trl sft|dpo --config` reads, checked against TRL's own dataclasses.

`load_recipe(path, overrides)` reads the file, decides the method (DPO when it sets a DPO-only key
such as `beta`, SFT when it sets an SFT-only key such as `packing`), rejects unknown keys and wrongly
typed values with a one-line `ConfigError("<file>: <key>: <problem>")`, and returns a `Recipe`.
`Recipe.parse()` builds TRL's (ScriptArguments, DPOConfig|SFTConfig, ModelConfig,
DatasetMixtureConfig) with the parser of TRL's own `trl dpo`/`trl sft` script; `check_recipe` does
both, so TRL's own checks (e.g. bf16 on a CPU-only machine) also fail early.
"""

import argparse
import copy
import dataclasses
import functools
import importlib
import typing
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ifplay.config import read_yaml
from ifplay.errors import ConfigError, first_line

Method = Literal["sft", "dpo"]
METHODS: tuple[Method, ...] = ("sft", "dpo")
ENV_KEY = "env"  # TRL's config files may set environment variables under this key
_DATASET_LIST = "datasets"


class TrlArgs(NamedTuple):
    """The four dataclasses a TRL training script receives."""

    script: Any  # trl.ScriptArguments
    training: Any  # trl.DPOConfig | trl.SFTConfig
    model: Any  # trl.ModelConfig
    data: Any  # trl.DatasetMixtureConfig


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A validated recipe: its file, method, values (overrides applied) and `env` section."""

    path: Path
    method: Method
    values: dict[str, Any]
    env: dict[str, str]

    def parse(self) -> TrlArgs:
        """Build TRL's dataclasses from `values` exactly as `trl <method> --config` does.

        Raises ConfigError when TRL rejects a value or a combination (e.g. bf16 on a CPU-only machine).
        """
        parser = trl_parser(self.method)
        parser.set_defaults_with_config(**copy.deepcopy(self.values))  # TRL mutates nested values
        try:
            parsed = parser.parse_args_into_dataclasses(args=[], look_for_args_file=False)
        except argparse.ArgumentError as err:
            key = (err.argument_name or "").split("/")[0].lstrip("-") or "<recipe>"
            raise ConfigError(f"{self.path}: {key}: {err.message}") from None
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{self.path}: {first_line(err)}") from None
        return TrlArgs(*parsed)


def trl_parser(method: Method) -> Any:
    """TRL's parser for `trl <method>` (from `trl.scripts.<method>.make_parser`), raising, not exiting."""
    module = importlib.import_module(f"trl.scripts.{method}")
    parser = module.make_parser(prog=f"trl {method}")
    parser.exit_on_error = False
    return parser


@functools.cache
def recipe_fields(method: Method) -> dict[str, Any]:
    """Every key a `trl <method>` recipe may set, mapped to its type hint."""
    hints: dict[str, Any] = {}
    for cls in trl_parser(method).dataclass_types:
        cls_hints = typing.get_type_hints(cls)
        hints.update({f.name: cls_hints[f.name] for f in dataclasses.fields(cls) if f.init})
    return hints


@functools.cache
def recipe_choices(method: Method) -> dict[str, tuple[str, ...]]:
    """Keys whose value TRL's parser restricts to a fixed set (e.g. eval_strategy), with that set."""
    return {
        action.dest: tuple(str(c) for c in action.choices)
        for action in trl_parser(method)._actions
        if action.choices and not isinstance(action.choices, dict)
    }


def method_only_keys(method: Method) -> set[str]:
    """Keys that only `method` accepts (e.g. `beta` for DPO, `packing` for SFT)."""
    others = set().union(*(recipe_fields(m) for m in METHODS if m != method))
    return set(recipe_fields(method)) - others


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read and check a recipe file, then apply `overrides` (checked the same way)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    env = data.pop(ENV_KEY, None) or {}
    if not isinstance(env, dict):
        raise ConfigError(f"{path}: {ENV_KEY}: expected a mapping of variable names to values")
    method = infer_method(data, path)
    check_values(data, method, str(path))
    extra = dict(overrides or {})
    check_values(extra, method, f"{path} (overrides)")
    return Recipe(path, method, {**data, **extra}, {str(k): str(v) for k, v in env.items()})


def check_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """`load_recipe` plus TRL's own validation, without data or model: what a loop runs up front."""
    recipe = load_recipe(path, overrides)
    recipe.parse()
    return recipe


def infer_method(values: dict[str, Any], path: Path) -> Method:
    """DPO or SFT, from the method-only keys the recipe sets."""
    found = {m: sorted(method_only_keys(m) & set(values)) for m in METHODS}
    methods = [m for m in METHODS if found[m]]
    if len(methods) == 1:
        return methods[0]
    if not methods:
        raise ConfigError(
            f"{path}: cannot tell the method: set a DPO-only key (e.g. beta) or an SFT-only key "
            "(e.g. packing)"
        )
    clash = ", ".join(f"{m.upper()}-only {found[m][0]}" for m in methods)
    raise ConfigError(f"{path}: mixes keys of different methods ({clash})")


def check_values(values: dict[str, Any], method: Method, source: str) -> None:
    """Unknown keys and values of the wrong type -> ConfigError naming `source` and the key.

    Strings are left to TRL's argparse conversion (as `trl` does with config values); other values
    must match the field's type exactly (no silent bool/int/float coercion).
    """
    fields, choices = recipe_fields(method), recipe_choices(method)
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{source}: {key}: unknown key (not a `trl {method}` option)")
        if isinstance(value, str) and key in choices and value not in choices[key]:
            allowed = ", ".join(choices[key])
            raise ConfigError(f"{source}: {key}: {value!r} is not one of: {allowed}")
        if key == _DATASET_LIST and isinstance(value, list):
            _check_dataset_list(value, source)
        elif not isinstance(value, str):
            _check_type(value, fields[key], f"{source}: {key}")


def _check_dataset_list(entries: list[Any], source: str) -> None:
    from trl.scripts.utils import DatasetConfig

    hints = typing.get_type_hints(DatasetConfig)
    required = {
        f.name for f in dataclasses.fields(DatasetConfig) if f.default is dataclasses.MISSING
    }
    for index, entry in enumerate(entries):
        where = f"{source}: {_DATASET_LIST}[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with at least `path`")
        for key in required - set(entry):
            raise ConfigError(f"{where}.{key}: required key is missing")
        for key, value in entry.items():
            if key not in hints:
                raise ConfigError(f"{where}.{key}: unknown key")
            _check_type(value, hints[key], f"{where}.{key}")


def _check_type(value: Any, hint: Any, where: str) -> None:
    from pydantic import TypeAdapter, ValidationError
    from pydantic.errors import PydanticSchemaGenerationError

    try:
        adapter = TypeAdapter(hint)
    except PydanticSchemaGenerationError:
        return  # a type pydantic cannot describe: leave it to TRL
    try:
        adapter.validate_python(value, strict=True)
    except ValidationError:
        raise ConfigError(f"{where}: expected {_type_name(hint)}, got {value!r}") from None


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")
