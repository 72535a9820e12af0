"""`drop_finished_rows`: the same greedy tokens as transformers' own loop, fewer rows in the forward
pass once rows finish, seeded sampling that respects stopping and per-row logits processors, and
transformers' loop for the requests it does not cover."""

from pathlib import Path
from typing import Any

import pytest
import torch

from ifplay.decoding import drop_finished_rows
from ifplay.kv_cache import append_only_cache

PROMPTS = ["Write a haiku about rain, in lowercase.", "Hi", "List three colours as JSON."]
NEW_TOKENS = 30


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> tuple[Any, Any, dict]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    encoded = dict(tokenizer(PROMPTS, return_tensors="pt", padding=True))
    return model, tokenizer, encoded


def _generate(model: Any, tokenizer: Any, encoded: dict, custom: Any, **options: Any) -> Any:
    torch.manual_seed(3)
    with torch.inference_mode():
        return model.generate(
            **encoded,
            cache=append_only_cache(model.config, encoded["input_ids"].shape[1] + NEW_TOKENS),
            max_new_tokens=NEW_TOKENS,
            pad_token_id=tokenizer.pad_token_id,
            custom_generate=custom,
            return_dict_in_generate=True,
            **options,
        )


def _early_stopping_eos(model: Any, tokenizer: Any, encoded: dict) -> int:
    """A token the random model emits early in one row and late or never in another, as EOS."""
    free = _generate(model, tokenizer, encoded, None, do_sample=False, eos_token_id=None)
    new = free.sequences[:, encoded["input_ids"].shape[1] :]
    first_seen: dict[int, list[int]] = {}
    for row, tokens in enumerate(new.tolist()):
        for step, token in enumerate(tokens):
            first_seen.setdefault(token, [NEW_TOKENS] * len(PROMPTS))
            first_seen[token][row] = min(first_seen[token][row], step)
    spread = {t: max(s) - min(s) for t, s in first_seen.items() if min(s) < NEW_TOKENS // 2}
    return max(spread, key=lambda t: spread[t])


def _forward_batch_sizes(model: Any) -> tuple[list[int], Any]:
    sizes: list[int] = []
    hook = model.register_forward_pre_hook(
        lambda _, args, kwargs: sizes.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    return sizes, hook


def test_greedy_output_is_token_for_token_transformers_own(tiny: tuple) -> None:
    model, tokenizer, encoded = tiny
    eos = _early_stopping_eos(model, tokenizer, encoded)
    expected = _generate(model, tokenizer, encoded, None, do_sample=False, eos_token_id=eos)
    sizes, hook = _forward_batch_sizes(model)
    try:
        got = _generate(
            model, tokenizer, encoded, drop_finished_rows, do_sample=False, eos_token_id=eos
        )
    finally:
        hook.remove()
    assert torch.equal(got.sequences, expected.sequences)
    assert sizes[0] == len(PROMPTS) and min(sizes) < len(PROMPTS), sizes  # rows were dropped
    assert len(sizes) == got.sequences.shape[1] - encoded["input_ids"].shape[1]


def test_sampling_stops_rows_and_pads_them(tiny: tuple) -> None:
    """Seeded sampling with a repetition penalty (a processor with per-row state) and top-p."""
    model, tokenizer, encoded = tiny
    eos = _early_stopping_eos(model, tokenizer, encoded)
    options = {"do_sample": True, "temperature": 0.8, "top_p": 0.9, "repetition_penalty": 1.2}
    runs = [
        _generate(model, tokenizer, encoded, drop_finished_rows, eos_token_id=eos, **options)
        for _ in range(2)
    ]
    assert torch.equal(runs[0].sequences, runs[1].sequences)
    for row in runs[0].sequences[:, encoded["input_ids"].shape[1] :].tolist():
        if eos in row:
            after = row[row.index(eos) + 1 :]
            assert all(token == tokenizer.pad_token_id for token in after), row


def test_a_stopping_criterion_from_the_caller_is_honoured(tiny: tuple) -> None:
    """Like lighteval's stop sequences: a criterion that ends row 1 after 5 new tokens (the random
    model does not emit its EOS token, so the other rows run to the limit)."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    model, tokenizer, encoded = tiny
    prompt_length = encoded["input_ids"].shape[1]

    class StopRowOne(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
            done[1] = input_ids.shape[1] - prompt_length >= 5
            return done

    outputs = [
        _generate(
            model,
            tokenizer,
            encoded,
            custom,
            do_sample=False,
            stopping_criteria=StoppingCriteriaList([StopRowOne()]),
        )
        for custom in (None, drop_finished_rows)
    ]
    assert torch.equal(outputs[0].sequences, outputs[1].sequences)
    assert outputs[1].sequences.shape[1] == prompt_length + NEW_TOKENS
    assert set(outputs[1].sequences[1, prompt_length + 5 :].tolist()) == {tokenizer.pad_token_id}


def test_without_an_eos_token_transformers_loop_runs(tiny: tuple) -> None:
    """With no EOS, transformers keeps generating into rows another criterion stopped."""
    model, tokenizer, encoded = tiny
    sizes, hook = _forward_batch_sizes(model)
    try:
        _generate(model, tokenizer, encoded, drop_finished_rows, do_sample=False, eos_token_id=None)
    finally:
        hook.remove()
    assert set(sizes) == {len(PROMPTS)}


def test_requests_for_per_step_scores_go_to_transformers_loop(tiny: tuple) -> None:
    model, tokenizer, encoded = tiny
    outputs = [
        _generate(model, tokenizer, encoded, custom, do_sample=False, output_scores=True)
        for custom in (None, drop_finished_rows)
    ]
    assert outputs[1].scores is not None and len(outputs[1].scores) == len(outputs[0].scores)
    assert torch.equal(outputs[0].sequences, outputs[1].sequences)
