"""A lighteval model that generates through a local vLLM server (vLLM's CPU build, `ifplay.vllm_server`).

Used by `ifplay eval --engine vllm` on a machine without a GPU. Each request renders its prompt with
lighteval's own `PromptManager` and the checkpoint's tokenizer, exactly as the transformers path does,
and sends the token ids (not text) to `/v1/completions`, so both engines see identical inputs. All
requests are in flight at once; vLLM's continuous batching schedules them.

Log-likelihood requests (`sharegpt_ppl`) are scored from vLLM's prompt log-probabilities: context and
continuation are tokenized as lighteval's transformers path does (`tok_encode_pair`, pairwise), the
joined ids are cut from the left to the server's `max_model_len` less one (vLLM scores a prompt only
with room for one generated token; transformers cuts to the full length), and the continuation's
token log-probabilities are summed; `argmax_logits_eq_gold` holds when each continuation token was the model's top choice
(vLLM's rank 1). Rolling log-likelihood (whole-text perplexity) is not served.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

from ifplay.config import ModelSpec
from ifplay.errors import IfplayError

CONCURRENT_REQUESTS = 256
Result = TypeVar("Result")


def in_flight(request: Callable[[Any], Result], items: list[Any]) -> Iterator[tuple[int, Result]]:
    """(index in `items`, `request(item)`) as each call finishes; up to `CONCURRENT_REQUESTS` run at
    once. A consumer that stops early leaves nothing queued behind it."""
    pool = ThreadPoolExecutor(max_workers=min(CONCURRENT_REQUESTS, len(items) or 1))
    try:
        futures = {pool.submit(request, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def continuation_logprobs(
    prompt_logprobs: list[dict[str, Any] | None], continuation: list[int]
) -> tuple[float, bool]:
    """(sum of the continuation's log-probabilities, whether each of its tokens ranked first), from
    vLLM's `prompt_logprobs` of a prompt that ends with `continuation`. Each entry maps token id
    (a string) to `{"logprob", "rank", ...}`; the first prompt token has none and is skipped.
    Raises `IfplayError` when an entry does not score its own token."""
    total, greedy = 0.0, True
    scored_tail = prompt_logprobs[len(prompt_logprobs) - len(continuation) :]
    for token, entry in zip(continuation, scored_tail, strict=True):
        if entry is None:
            continue
        scored = entry.get(str(token))
        if scored is None:
            raise IfplayError(f"vLLM's prompt log-probabilities have no score for token {token}")
        total += float(scored["logprob"])
        greedy = greedy and scored.get("rank") == 1
    return total, greedy


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
            # The length the server was started with (the spec's `max_model_len` or the checkpoint's).
            (card,) = [m for m in client.models.list().data if m.id == server.model_name]
            self._served_length = int(card.model_dump()["max_model_len"])

        @property
        def tokenizer(self) -> Any:
            return self._tokenizer

        @property
        def add_special_tokens(self) -> bool:
            return False

        @property
        def max_length(self) -> int:
            """The server's context length, as it reports it."""
            return self._served_length

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
            return in_flight(self._answer, docs)

        def greedy_until(self, docs: list[Doc]) -> list[ModelResponse]:
            answers = dict(self.answers_as_completed(docs))
            return [answers[i] for i in range(len(docs))]

        def _choice_logprob(self, ids: tuple[list[int], list[int]]) -> tuple[float, bool]:
            context, continuation = ids
            joined = (context + continuation)[-(self.max_length - 1) :]
            reply = client.completions.create(
                model=server.model_name,
                prompt=joined,
                max_tokens=1,
                temperature=0.0,
                extra_body={"prompt_logprobs": 0},
            )
            scores = reply.choices[0].model_dump().get("prompt_logprobs")
            if not scores or len(scores) != len(joined):
                raise IfplayError(
                    f"vLLM server at {server.base_url} returned no prompt log-probabilities"
                )
            return continuation_logprobs(scores, continuation[-len(joined) :])

        def loglikelihood(self, docs: list[Doc]) -> list[ModelResponse]:
            """Each doc's choices scored as continuations of its chat-templated prompt."""
            encoded = [
                self.tok_encode_pair(
                    self.prompt_manager.prepare_prompt(doc), doc.choices, pairwise=True
                )
                for doc in docs
            ]
            pairs = [
                (context, continuation)
                for contexts, continuations in encoded
                for context, continuation in zip(contexts, continuations, strict=True)
            ]
            scores = iter(score for _, score in sorted(in_flight(self._choice_logprob, pairs)))
            answers = []
            for contexts, continuations in encoded:
                choice_scores = [next(scores) for _ in continuations]
                answers.append(
                    ModelResponse(
                        logprobs=[total for total, _ in choice_scores],
                        argmax_logits_eq_gold=[greedy for _, greedy in choice_scores],
                        input_tokens=contexts[0],
                        output_tokens=continuations,
                    )
                )
            return answers

        def loglikelihood_rolling(self, docs: list[Doc]) -> list[ModelResponse]:
            raise IfplayError(
                "engine 'vllm' without a GPU does not score rolling log-likelihood; "
                "run that task with --engine transformers"
            )

    return ServedModel()
