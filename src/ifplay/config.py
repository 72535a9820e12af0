"""Typed schemas for every YAML a user writes, and the loader that turns mistakes into one line.

Every schema derives from `Schema` (unknown keys are errors). `load_config(path, SchemaType)` reads a
YAML file and returns the validated object, or raises `ConfigError("<file>: <field>: <problem>")`.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ifplay.embedded import EMBEDDED_MODEL
from ifplay.errors import ConfigError, first_line

Engine = Literal["transformers", "llamacpp", "vllm", "openai"]
ENGINES: tuple[str, ...] = ("transformers", "llamacpp", "vllm", "openai")


class Schema(BaseModel):
    """Base for all config schemas: strict about unknown keys, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# Sampling settings, declared once: ModelSpec, the SPaR judge (`steps.spar.judge.JudgeSettings`) and its
# tree search (`steps.spar.tree_search.SearchSettings`) each give them their own defaults.
Temperature = Annotated[float, Field(ge=0.0, le=5.0, description="0 is greedy decoding.")]
TopP = Annotated[float, Field(gt=0.0, le=1.0, description="Nucleus sampling (1: off).")]
MaxNewTokens = Annotated[int, Field(ge=1, description="Cap on generated tokens per sample.")]


class Sampling(Protocol):
    """Any settings with the sampling fields (`Temperature`, `TopP`, `MaxNewTokens`)."""

    temperature: float
    top_p: float
    max_new_tokens: int


def sampling_kwargs(settings: Sampling, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The generation kwargs every engine's `generate` accepts: `base` (e.g. an LLM's own
    `get_generation_kwargs()`) with `settings`' max_new_tokens, temperature and top_p on top."""
    return {
        **(base or {}),
        "max_new_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
    }


class ModelSpec(Schema):
    """One model role: which weights, which engine, and how to sample from it."""

    name: str = Field(
        EMBEDDED_MODEL,
        min_length=1,
        description="`smollm2-135m-instruct` (embedded), a local checkpoint folder, or a Hub id.",
    )
    engine: Engine = "transformers"
    temperature: Temperature = 0.7
    top_p: TopP = 1.0
    max_new_tokens: MaxNewTokens = 256
    n: int = Field(1, ge=1, description="Generations per prompt.")
    seed: int | None = None
    # transformers
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str | None = Field(None, description="transformers device, e.g. cpu or cuda:0.")
    batch_size: int = Field(8, ge=1, description="Prompts per engine call.")
    # vLLM
    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0.0, le=1.0)
    max_model_len: int | None = Field(None, ge=1)
    # llama.cpp
    gguf_file: str | None = Field(
        None, description="GGUF path for llama.cpp (embedded default: the wheel's file)."
    )
    n_ctx: int = Field(2048, ge=128)
    # OpenAI-compatible endpoint
    base_url: str | None = None
    api_key_env: str = Field("OPENAI_API_KEY", description="Env var holding the key; never logged.")

    def for_stage(self, n: int, seed: int, max_new_tokens: int | None = None) -> "ModelSpec":
        """This spec for one pipeline stage: `n` samples, the stage's token cap if given, and
        `seed` unless the spec sets its own."""
        update: dict[str, Any] = {"n": n, "seed": self.seed if self.seed is not None else seed}
        if max_new_tokens is not None:
            update["max_new_tokens"] = max_new_tokens
        return self.model_copy(update=update)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class DataSource(Schema):
    """Where prompts come from: a local json/jsonl/parquet file or folder, or a Hub dataset id."""

    path: str = Field(min_length=1)
    split: str = "train"
    prompt_column: str = "prompt"
    limit: Annotated[int, Field(ge=1)] | None = None


SchemaT = TypeVar("SchemaT", bound=BaseModel)

# Keys that older declarations used for the model being trained; every declaration now calls it `model`.
RENAMED_KEYS = {"policy": "model", "actor": "model"}


def with_model(declaration: SchemaT, **changes: Any) -> SchemaT:
    """A copy of a pipeline declaration whose `model` (the model being trained) has `changes` (e.g.
    `name`, `engine`) applied and validated; `declaration` itself is left as it was."""
    current: ModelSpec = declaration.model  # type: ignore[attr-defined]
    model = ModelSpec.model_validate({**current.model_dump(exclude_unset=True), **changes})
    return declaration.model_copy(update={"model": model})


def format_location(loc: tuple[Any, ...]) -> str:
    """('steps', 2, 'temperature') -> 'steps[2].temperature'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        renamed = RENAMED_KEYS.get(str(loc[-1])) if len(loc) == 1 else None
        msg = f"renamed to {renamed!r} (the model being trained)" if renamed else "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    msg = msg.removeprefix("Value error, ")
    return f"{format_location(loc)}: {msg}"


def validate_config(data: Any, schema: type[SchemaT], source: str) -> SchemaT:
    """Validate already-parsed data against `schema`; errors name `source` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: {_first_error(err)}") from None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; missing files and syntax errors become one-line ConfigErrors."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "parse error"
        problem = getattr(err, "problem", None) or first_line(err)
        raise ConfigError(f"{path}: {where}: invalid YAML ({problem})") from None


def load_config(path: str | Path, schema: type[SchemaT]) -> SchemaT:
    """Read and validate one YAML declaration."""
    return validate_config(read_yaml(path), schema, str(path))
