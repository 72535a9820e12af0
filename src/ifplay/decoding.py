"""A decoding loop for `model.generate` that stops computing the rows of a batch once they finish.

transformers' own loop (`_sample`) keeps every row of a padded batch in every forward pass until the
last row stops: a row that ended at step 200 of a batch whose longest answer runs 1,280 steps is fed
padding for 1,080 more steps, through every layer and over its whole KV cache. With small models that
ramble to the token limit next to ones that stop early (IFEval), a third of the compute is such
padding. `drop_finished_rows` is passed as `model.generate(custom_generate=drop_finished_rows, ...)`:
generate prepares the inputs, logits processors and stopping criteria as usual, and this loop removes
finished rows from the forward pass (and from the KV cache) as they finish. Outputs keep the full
batch: finished rows are padded, exactly as `_sample` pads them, so greedy output is the same token
for token (tests/test_decoding.py). Sampled output is the same distribution, but not the same random
draws, since fewer rows are drawn from per step.

Requests this loop does not cover (no EOS token, per-step scores, logits, attentions or hidden states, a streamer,
synchronised GPUs, encoder-decoder models, extra per-row model inputs) go to transformers' `_sample`.
"""

from typing import Any

import torch
from transformers import GenerationMixin
from transformers.generation.utils import GenerateDecoderOnlyOutput

# Per-row model inputs this loop knows how to shrink; any other tensor input means `_sample`.
ROW_INPUTS = ("attention_mask", "position_ids")


def drop_finished_rows(
    model: Any,
    input_ids: torch.LongTensor,
    logits_processor: Any,
    stopping_criteria: Any,
    generation_config: Any,
    synced_gpus: bool = False,
    streamer: Any = None,
    **model_kwargs: Any,
) -> GenerateDecoderOnlyOutput | torch.LongTensor:
    """Sample or greedy-decode `input_ids` ([batch, prompt]) as `generate` would; returns the
    sequences ([batch, prompt + new], finished rows padded) or a `GenerateDecoderOnlyOutput`."""
    if not _supported(
        model, stopping_criteria, generation_config, synced_gpus, streamer, model_kwargs
    ):
        return GenerationMixin._sample(
            model,
            input_ids,
            logits_processor,
            stopping_criteria,
            generation_config,
            synced_gpus,
            streamer,
            **model_kwargs,
        )
    pad = generation_config._pad_token_tensor
    pad = torch.tensor(0) if pad is None else pad.to(input_ids.device)
    sequences = input_ids
    rows = torch.arange(input_ids.shape[0], device=input_ids.device)  # rows still running
    unfinished = torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    outputs = model._prefill(input_ids, generation_config, model_kwargs)
    while True:
        model_kwargs = model._update_model_kwargs_for_generation(outputs, model_kwargs)
        # Logits processors may keep per-row state (repetition penalty: each row's padding), so
        # they see the whole batch; finished rows get zero logits and are not sampled from.
        logits = outputs.logits[:, -1].to(dtype=torch.float32)
        batch_logits = logits.new_zeros((sequences.shape[0], logits.shape[-1]))
        batch_logits[rows] = logits
        scores = logits_processor(sequences, batch_logits)[rows]
        if generation_config.do_sample:
            tokens = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
        else:
            tokens = torch.argmax(scores, dim=-1)
        column = pad.expand(sequences.shape[0]).clone()
        column[rows] = tokens
        sequences = torch.cat([sequences, column[:, None]], dim=-1)
        unfinished &= ~stopping_criteria(sequences, None)
        if not unfinished.any():
            break
        running = unfinished[rows]
        if not running.all():
            keep = running.nonzero().squeeze(1)
            rows = rows[keep]
            _keep_rows(model_kwargs, keep)
        inputs = model.prepare_inputs_for_generation(
            sequences[rows], next_sequence_length=1, **model_kwargs
        )
        outputs = model(**inputs, return_dict=True)
    if generation_config.return_dict_in_generate:
        return GenerateDecoderOnlyOutput(sequences=sequences)
    return sequences


def _supported(
    model: Any,
    stopping_criteria: Any,
    generation_config: Any,
    synced_gpus: bool,
    streamer: Any,
    model_kwargs: dict,
) -> bool:
    """This loop reproduces `_sample` for the request (else `_sample` runs it). Without an EOS
    criterion `_sample` keeps writing tokens into rows that other criteria stopped."""
    pads_finished_rows = any(hasattr(c, "eos_token_id") for c in stopping_criteria)
    per_step_outputs = generation_config.return_dict_in_generate and (
        generation_config.output_scores
        or generation_config.output_logits
        or generation_config.output_attentions
        or generation_config.output_hidden_states
    )
    unknown_inputs = [
        key
        for key, value in model_kwargs.items()
        if isinstance(value, torch.Tensor) and key not in ROW_INPUTS
    ]
    position_ids = model_kwargs.get("position_ids")
    return pads_finished_rows and not (
        per_step_outputs
        or synced_gpus
        or streamer is not None
        or model.config.is_encoder_decoder
        or unknown_inputs
        or (position_ids is not None and position_ids.dim() != 2)
        or model_kwargs.get("cache") is None
        or not model_kwargs.get("use_cache", True)
    )


def _keep_rows(model_kwargs: dict[str, Any], keep: torch.Tensor) -> None:
    """Keep only the rows `keep` (indices into the running rows) of the cache and row inputs."""
    model_kwargs["cache"].batch_select_indices(keep)
    for key in ROW_INPUTS:
        if model_kwargs.get(key) is not None:
            model_kwargs[key] = model_kwargs[key][keep]
