"""Turn an ifplay `ModelSpec` into one of lighteval's own generation backends.

- `transformers` (default): lighteval's `TransformersModel`. The chat template is applied by lighteval
  whenever the tokenizer has one; prompts are sorted by length and generated `batch_size` at a time.
  - On CPU it uses lighteval's padded batches (`model.generate`, each row stops at EOS, a batch ends
    when all rows have), with ifplay's append-only KV cache (`ifplay.kv_cache`) in place of
    `DynamicCache`, which re-copies the whole cache at every step, and with `ifplay.decoding`'s loop,
    which stops computing a row once it has finished (a batch runs as long as its longest answer;
    the rows that stopped early no longer ride along). Log-likelihood tasks (`sharegpt_ppl`) score
    at most `LOGLIKELIHOOD_BATCH` sequences at a time: their full-vocabulary logits take ~0.8 GB per
    1,000-token answer, and 32 at once were killed for memory on a 24 GB machine. Two settings are
    adjusted:
    lighteval asks `generate` for every step's scores, which it never reads (at 1280 steps x batch
    8 x 49k vocabulary that is 2 GB per batch), and it never switches sampling on, so
    temperature > 0 sets `do_sample`.
  - On a GPU it uses continuous batching (`generate_batch`: a finished sequence's slot is refilled at
    once). Not on CPU: without a varlen attention kernel every sequence attends over the keys of the
    whole batch, and with IFEval-length answers (~1,000 tokens) that halved tokens/s here (18 vs 39
    tok/s, SmolLM2-135M, batch 8, 2 cores). `_generate_continuous` passes an explicit
    `ContinuousBatchingConfig` sized for `batch_size` full-length sequences (transformers otherwise
    sizes its paged cache from free memory) and the spec's sampling.
- `vllm`: on a GPU, lighteval's `VLLMModel` (needs the `vllm` package, `pip install 'ifplay[vllm]'`);
  without one, vLLM's CPU build behind a local server ifplay starts and stops
  (`ifplay.evaluation.served`, `ifplay.vllm_server`; `sharegpt_ppl` from prompt log-probabilities).

`ifplay eval --engine auto` (the default) picks vLLM when it is installed and a GPU is visible.
"""

import math
from pathlib import Path
from typing import Any

from ifplay.config import ModelSpec
from ifplay.errors import IfplayError
from ifplay.models import gpu_vllm_available, resolve_model_path

LOGLIKELIHOOD_BATCH = 4

EVAL_ENGINES: tuple[str, ...] = ("transformers", "vllm")
PAGE_SIZE = 256  # tokens per KV-cache page (transformers' default)
MAX_BATCH_TOKENS = 256  # tokens per forward pass in continuous batching (what lighteval uses)
# Sequences generated together by default. On CPU decoding a small model is bound by per-step
# overhead, so wider batches pay: SmolLM2-135M on 2 cores, IFEval prompts, 256 new tokens:
# 59 tok/s at 8, 114 at 32, 128 at 64 (benchmarks/RESULTS.md). At 1,280 new tokens transformers'
# own cache erases most of that (47 tok/s at 16, 51 at 32); ifplay's append-only cache gives 93 at
# 32. 32 keeps the KV cache of full-length answers near 2 GB.
EVAL_BATCH_SIZE = 32


def auto_engine() -> str:
    """`vllm` when it is installed and a CUDA GPU is visible, else `transformers`."""
    return "vllm" if gpu_vllm_available() else "transformers"


def build_eval_model(
    spec: ModelSpec, max_new_tokens: int | None, cache_dir: Path, task_max_new_tokens: int
) -> Any:
    """A loaded lighteval model for `spec`; `cache_dir` holds lighteval's per-run sample cache."""
    if spec.engine not in EVAL_ENGINES:
        raise IfplayError(
            f"engine {spec.engine!r} cannot run lighteval generation (use: {', '.join(EVAL_ENGINES)})"
        )
    from lighteval.models.model_input import GenerationParameters

    path = resolve_model_path(spec.name)
    generation = GenerationParameters(
        temperature=spec.temperature,
        top_p=spec.top_p,
        max_new_tokens=max_new_tokens or task_max_new_tokens,
        seed=spec.seed,
    )
    if spec.engine == "vllm":
        return _vllm_model(spec, path, generation, cache_dir)
    return _transformers_model(spec, path, generation, cache_dir)


def _vllm_model(spec: ModelSpec, path: str, generation: Any, cache_dir: Path) -> Any:
    if not gpu_vllm_available():
        from ifplay.evaluation.served import served_eval_model

        return served_eval_model(spec, path, generation, cache_dir)
    from lighteval.models.model_loader import load_model
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    config = VLLMModelConfig(
        model_name=path,
        # ModelSpec's float32 default suits CPUs; on a GPU keep the checkpoint's dtype unless asked.
        dtype=spec.dtype if "dtype" in spec.model_fields_set and spec.dtype != "auto" else "auto",
        tensor_parallel_size=spec.tensor_parallel_size,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        max_model_length=spec.max_model_len,
        seed=spec.seed if spec.seed is not None else 1234,
        generation_parameters=generation,
        cache_dir=str(cache_dir),
    )
    return load_model(config)


def _transformers_model(spec: ModelSpec, path: str, generation: Any, cache_dir: Path) -> Any:
    import torch
    from lighteval.models.transformers.transformers_model import (
        TransformersModel,
        TransformersModelConfig,
    )

    class LocalTransformersConfig(TransformersModelConfig):
        """Skips the Hub lookup lighteval makes for the model's commit sha when the model is a folder."""

        def get_model_sha(self) -> str:
            return "" if Path(self.model_name).is_dir() else super().get_model_sha()

    class IfplayTransformersModel(TransformersModel):
        """`TransformersModel` with the sampling and memory adjustments described in the module doc."""

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.generation_config_dict.pop("output_scores", None)
            if spec.temperature > 0:
                self.generation_config_dict["do_sample"] = True

        def _loglikelihood_tokens(self, docs: list[Any], rolling: bool = False) -> list[Any]:
            """lighteval's scoring, `LOGLIKELIHOOD_BATCH` sequences at a time at most."""
            batch_size = self.config.batch_size
            self.config.batch_size = min(batch_size or LOGLIKELIHOOD_BATCH, LOGLIKELIHOOD_BATCH)
            try:
                return super()._loglikelihood_tokens(docs, rolling=rolling)
            finally:
                self.config.batch_size = batch_size

        def _generate_padded(
            self, batch: Any, max_new_tokens: int, *args: Any, **kwargs: Any
        ) -> Any:
            """lighteval's padded generation with an append-only KV cache sized for the batch, and
            a decoding loop that drops finished rows from the forward pass."""
            from ifplay.decoding import drop_finished_rows
            from ifplay.kv_cache import append_only_cache

            capacity = batch.input_ids.shape[1] + max_new_tokens
            self.generation_config_dict["cache"] = append_only_cache(self.model.config, capacity)
            self.generation_config_dict["custom_generate"] = drop_finished_rows
            try:
                return super()._generate_padded(batch, max_new_tokens, *args, **kwargs)
            finally:
                del self.generation_config_dict["cache"]
                del self.generation_config_dict["custom_generate"]

        def _generate_continuous(
            self, inputs: list[list[int]], max_new_tokens: int | None = None, **_: Any
        ) -> dict[str, Any]:
            return continuous_generate(self.model, self.tokenizer, spec, inputs, max_new_tokens)

    device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if spec.seed is not None:
        torch.manual_seed(spec.seed)
    config = LocalTransformersConfig(
        model_name=path,
        dtype=None if spec.dtype == "auto" else spec.dtype,
        device=device,
        batch_size=spec.batch_size,
        model_parallel=False,
        continuous_batching=device.startswith("cuda"),
        # Chat templates carry their own special tokens; adding BOS again would double it.
        add_special_tokens=False,
        generation_parameters=generation,
        cache_dir=str(cache_dir),
    )
    return IfplayTransformersModel(config)


def cache_blocks(concurrency: int, longest_prompt: int, max_new_tokens: int) -> int:
    """KV-cache pages (of `PAGE_SIZE` tokens, all layers) for `concurrency` full-length sequences."""
    per_sequence = math.ceil((longest_prompt + max_new_tokens) / PAGE_SIZE) + 1
    return concurrency * per_sequence


def continuous_generate(
    model: Any, tokenizer: Any, spec: ModelSpec, inputs: list[list[int]], max_new_tokens: int | None
) -> dict[str, Any]:
    """`generate_batch` with a bounded cache; every prompt must come back, or this raises."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    if not inputs:
        return {}
    new_tokens = max_new_tokens or model.generation_config.max_new_tokens
    sampling: dict[str, Any] = {"do_sample": spec.temperature > 0}
    if spec.temperature > 0:
        sampling.update(temperature=spec.temperature, top_p=spec.top_p)
    generation = GenerationConfig(
        max_new_tokens=new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **sampling,
    )
    batching = ContinuousBatchingConfig(
        page_size=PAGE_SIZE,
        num_blocks=cache_blocks(spec.batch_size, max(len(x) for x in inputs), new_tokens),
        max_batch_tokens=MAX_BATCH_TOKENS,
        max_requests_per_batch=spec.batch_size,
        seed=spec.seed,
    )
    outputs = model.generate_batch(
        inputs=inputs, generation_config=generation, continuous_batching_config=batching
    )
    failed = [o for o in outputs.values() if getattr(o, "error", None)]
    if len(outputs) != len(inputs) or failed:
        reason = failed[0].error if failed else "no output"
        raise IfplayError(
            f"generation failed for {len(inputs) - len(outputs) + len(failed)} of {len(inputs)} prompts "
            f"({reason})"
        )
    return outputs
