"""The LLM judge used by judge-scored eval tasks, configured like any ifplay model (a `ModelSpec`).

The runner installs a judge for the duration of one evaluation (`judging_with(spec)`); task metrics
fetch it with `current_judge()`. The judge's LLM comes from `ifplay.models.build_llm`, so every engine
(transformers, llama.cpp, vLLM, an OpenAI-compatible server) works, and it is loaded only when the first
judgement is requested: after lighteval has generated every answer and released the evaluated model.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ifplay.config import ModelSpec, sampling_kwargs
from ifplay.errors import IfplayError


class Judge:
    """Asks one model a list of prompts, `spec.batch_size` at a time, and returns its first answers."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._llm: Any = None

    def ask(self, prompts: list[str]) -> list[str]:
        from ifplay.models import build_llm

        if not prompts:
            return []
        if self._llm is None:
            self._llm = build_llm(self.spec)
            self._llm.load()
        kwargs = sampling_kwargs(self.spec)
        answers: list[str] = []
        step = self.spec.batch_size
        for start in range(0, len(prompts), step):
            batch = [[{"role": "user", "content": p}] for p in prompts[start : start + step]]
            for output in self._llm.generate_outputs(inputs=batch, num_generations=1, **kwargs):
                generations = output.get("generations") or [""]
                answers.append(generations[0] or "")
        return answers


_current: Judge | None = None


def current_judge() -> Judge:
    """The judge of the running evaluation; an error when none was configured."""
    if _current is None:
        raise IfplayError("this eval task is scored by an LLM judge: pass --judge-model")
    return _current


@contextmanager
def judging_with(spec: ModelSpec | None) -> Iterator[Judge | None]:
    """Make `spec` the current judge (None: no judge) until the block ends."""
    global _current
    saved = _current
    _current = Judge(spec) if spec is not None else None
    try:
        yield _current
    finally:
        _current = saved
