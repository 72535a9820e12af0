"""Score responses that already exist (`ifplay eval --responses FILE`): a lighteval model that replays them.

FILE is JSONL with `prompt` and `response` per line, the format of the official IFEval response files.
Each task prompt is matched to the response whose `prompt` is identical. When the file is aligned row
by row with the task's data (same number of rows) and a prompt has no exact match, the response on the
same row is used if its prompt differs only slightly (similarity >= 0.9): the published GPT-4 IFEval
file predates a one-word edit of prompt 339 in `input_data.jsonl` ("one placeholder" became "3
placeholders"). Such matches are counted and reported; anything else without a response is an error.
"""

import difflib
from pathlib import Path
from typing import Any

from ifplay.errors import DataError

SIMILARITY = 0.9


class ResponseBook:
    """The responses of one file, looked up by prompt (or by row when the files are aligned)."""

    def __init__(self, path: Path) -> None:
        from ifplay.evaluation.data import read_jsonl

        self.path = path
        self.rows = read_jsonl(path, "responses", required=("prompt", "response"))
        self.by_prompt = {str(r["prompt"]): str(r["response"]) for r in self.rows}
        self.matched_by_row = 0

    def lookup(self, prompt: str, row: int, dataset_rows: int) -> str:
        """The response for `prompt`, which is row `row` of a dataset with `dataset_rows` rows."""
        if prompt in self.by_prompt:
            return self.by_prompt[prompt]
        if len(self.rows) == dataset_rows and 0 <= row < len(self.rows):
            candidate = self.rows[row]
            if (
                difflib.SequenceMatcher(None, str(candidate["prompt"]), prompt).ratio()
                >= SIMILARITY
            ):
                self.matched_by_row += 1
                return str(candidate["response"])
        raise DataError(f"responses: {self.path}: no response for prompt {prompt[:60]!r}")


def replay_model(book: ResponseBook, dataset_rows: dict[str, int], cache_dir: Path) -> Any:
    """A lighteval model answering each generative request from `book` (no generation happens)."""
    from lighteval.models.abstract_model import LightevalModel, ModelConfig
    from lighteval.models.model_output import ModelResponse
    from lighteval.tasks.requests import Doc
    from lighteval.utils.cache_management import SampleCache

    class ReplayModel(LightevalModel):
        """Returns recorded responses; log-likelihood requests are refused."""

        def __init__(self) -> None:
            self.config = ModelConfig(
                model_name=f"responses:{book.path.name}", cache_dir=str(cache_dir)
            )
            self._cache = SampleCache(self.config)

        @property
        def tokenizer(self) -> Any:
            return None

        @property
        def add_special_tokens(self) -> bool:
            return False

        @property
        def max_length(self) -> int:
            return 1 << 20

        def greedy_until(self, docs: list[Doc]) -> list[ModelResponse]:
            return [
                ModelResponse(
                    text=[book.lookup(doc.query, int(doc.id), dataset_rows.get(doc.task_name, -1))]
                )
                for doc in docs
            ]

        def loglikelihood(self, docs: list[Doc]) -> list[ModelResponse]:
            raise DataError("--responses scores generative tasks only (not log-likelihood tasks)")

        def loglikelihood_rolling(self, docs: list[Doc]) -> list[ModelResponse]:
            raise DataError("--responses scores generative tasks only (not perplexity tasks)")

    return ReplayModel()
