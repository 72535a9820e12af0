"""A lighteval model that generates through a local vLLM server (vLLM's CPU build, `ifplay.vllm_server`).

Used by `ifplay eval --engine vllm` on a machine without a GPU. Each request renders its prompt with
lighteval's own `PromptManager` and the checkpoint's tokenizer, exactly as the transformers path does,
and sends the token ids (not text) to `/v1/completions`, so both engines see identical inputs. All
requests are in flight at once; vLLM's continuous batching schedules them. Log-likelihood tasks
(`sharegpt_ppl`) are refused: run them on the transformers engine.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from ifplay.config import ModelSpec
from ifplay.errors import IfplayError

CONCURRENT_REQUESTS = 256


def served_eval_model(spec: ModelSpec, path: str, generation: Any, cache_dir: Path) -> Any:
    """A lighteval model for `spec` answering through a vLLM server started (or reused) for `path`."""
    from lighteval.models.abstract_model import LightevalModel, ModelConfig
    from lighteval.models.model_output import ModelResponse
    from lighteval.tasks.prompt_manager import PromptManager
    from lighteval.tasks.requests import Doc
    from lighteval.utils.cache_management import SampleCache
    from openai import OpenAI
    from transformers import AutoTokenizer

    from ifplay.vllm_server import REQUEST_TIMEOUT_S, ServerSettings, served

    server = served(ServerSettings.for_spec(spec, path))
    client = OpenAI(base_url=server.base_url, api_key="EMPTY", timeout=REQUEST_TIMEOUT_S)

    class ServedModel(LightevalModel):
        """Generates with vLLM over HTTP; see the module doc."""

        def __init__(self) -> None:
            self.config = ModelConfig(model_name=path, cache_dir=str(cache_dir))
            self._cache = SampleCache(self.config)
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self.prompt_manager = PromptManager(use_chat_template=True, tokenizer=self._tokenizer)

        @property
        def tokenizer(self) -> Any:
            return self._tokenizer

        @property
        def add_special_tokens(self) -> bool:
            return False

        @property
        def max_length(self) -> int:
            return int(getattr(self._tokenizer, "model_max_length", 8192))

        def _answer(self, doc: Doc) -> ModelResponse:
            ids = self._tokenizer(
                self.prompt_manager.prepare_prompt(doc), add_special_tokens=False
            )["input_ids"]
            sampling: dict[str, Any] = {"temperature": generation.temperature or 0.0}
            if sampling["temperature"] > 0:
                sampling["top_p"] = generation.top_p or 1.0
            if generation.seed is not None:
                sampling["seed"] = generation.seed
            reply = client.completions.create(
                model=server.model_name,
                prompt=ids,
                max_tokens=generation.max_new_tokens or doc.generation_size,
                n=max(1, doc.num_samples),
                extra_body={"return_token_ids": True, "skip_special_tokens": True},
                **sampling,
            )
            choices = sorted(reply.choices, key=lambda c: c.index)
            return ModelResponse(
                text=[c.text for c in choices],
                input_tokens=ids,
                output_tokens=[list(getattr(c, "token_ids", None) or []) for c in choices],
            )

        def answers_as_completed(self, docs: list[Doc]) -> Iterator[tuple[int, ModelResponse]]:
            """(index in `docs`, answer) as each request finishes; all are in flight at once."""
            pool = ThreadPoolExecutor(max_workers=min(CONCURRENT_REQUESTS, len(docs) or 1))
            try:
                futures = {pool.submit(self._answer, doc): i for i, doc in enumerate(docs)}
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:  # a consumer that stops early leaves nothing queued behind it
                pool.shutdown(wait=True, cancel_futures=True)

        def greedy_until(self, docs: list[Doc]) -> list[ModelResponse]:
            answers = dict(self.answers_as_completed(docs))
            return [answers[i] for i in range(len(docs))]

        def loglikelihood(self, docs: list[Doc]) -> list[ModelResponse]:
            raise IfplayError(
                "engine 'vllm' without a GPU scores generative tasks only; "
                "run log-likelihood tasks with --engine transformers"
            )

        def loglikelihood_rolling(self, docs: list[Doc]) -> list[ModelResponse]:
            raise IfplayError(
                "engine 'vllm' without a GPU scores generative tasks only; "
                "run sharegpt_ppl with --engine transformers"
            )

    return ServedModel()
