"""Rule-driven distilabel LLMs for tests that need a model to say something specific (bad JSON, a
verdict, a refinement): the reply is a function of the message, and every engine call is recorded,
so search order, caching and batching can be asserted exactly."""

from typing import Any

from distilabel.models.llms.base import LLM
from pydantic import PrivateAttr


class RuleLLM(LLM):
    """Replies with `reply(text, sample)` for each of the `num_generations` samples; `calls` records
    each engine call as (number of inputs, num_generations)."""

    _calls: list[tuple[int, int]] = PrivateAttr(default_factory=list)
    _seen: list[str] = PrivateAttr(default_factory=list)

    def load(self) -> None:
        super().load()

    @property
    def model_name(self) -> str:
        return "rules"

    @property
    def calls(self) -> list[tuple[int, int]]:
        return self._calls

    @property
    def seen(self) -> list[str]:
        """Every user message received, in order."""
        return self._seen

    def reply(self, text: str, sample: int) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def generate(self, inputs: list[Any], num_generations: int = 1, **kwargs: Any) -> list[dict]:
        self._calls.append((len(inputs), num_generations))
        out = []
        for conversation in inputs:
            text = conversation[-1]["content"]
            self._seen.append(text)
            out.append(
                {
                    "generations": [self.reply(text, i) for i in range(num_generations)],
                    "statistics": {},
                }
            )
        return out


class ScriptedLLM(RuleLLM):
    """Replays `replies` in order, one per sample, across all inputs of a call (None when exhausted)."""

    replies: list[str | None]

    def generate(self, inputs: list[Any], num_generations: int = 1, **kwargs: Any) -> list[dict]:
        self._script = iter(self.replies)
        return super().generate(inputs, num_generations, **kwargs)

    def reply(self, text: str, sample: int) -> str | None:
        return next(self._script, None)


class FailingLLM(RuleLLM):
    """An engine that answers its first `good_calls` calls with `answer` and raises from then on,
    as a server that dies does (no **kwargs: distilabel would take them for a required runtime
    parameter inside a pipeline)."""

    answer: str = ""
    good_calls: int = 0

    def reply(self, text: str, sample: int) -> str:
        return self.answer

    def generate(self, inputs: list, num_generations: int = 1) -> list[dict]:
        if len(self.calls) >= self.good_calls:
            raise ConnectionError("server is gone")
        return super().generate(inputs, num_generations)
