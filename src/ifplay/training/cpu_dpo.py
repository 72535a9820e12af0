"""TRL's `DPOTrainer` with per-token log-probabilities computed the plain way, for training on CPU.

TRL 1.16's `DPOTrainer` patches the policy and the reference with a fused LM head
(`trl.trainer.utils.add_fused_lm_head`) that never materialises the logits. Without Triton it
projects every position's hidden state through the vocabulary in float32 tiles, the same CPU cost
that made `PlainLossSFTTrainer` (`ifplay.training.cpu_sft`) worth having. `PlainLogProbsDPOTrainer`
puts back a forward that takes the model's own (autocast) logits and derives what the trainer reads
from the fused head's output: each label's log-probability (with gradient), and, without gradient,
the entropy, mean logit, top-1 hit and log-sum of squared probabilities behind TRL's metrics and
weightings. The losses are the same (`tests/test_training_runs.py` compares them step by step).

Written for trl 1.16 (`DPOTrainer.__init__` patches the heads before it precomputes reference
log-probabilities, which `_precompute_ref_logps` does; `FusedCausalLMOutput`'s fields) and
transformers 5.24.
"""

import types
from typing import Any

import torch
from trl import DPOTrainer
from trl.trainer.utils import FusedCausalLMOutput


def plain_forward(
    model: Any,
    *args: Any,
    fused_lm_head: bool = False,
    labels: torch.Tensor | None = None,
    shift_labels: torch.Tensor | None = None,
    num_items_in_batch: Any = None,
    **kwargs: Any,
) -> Any:
    """`model`'s own forward; with `fused_lm_head=True`, a `FusedCausalLMOutput` computed from its
    logits (next-token log-probabilities of `labels`, -100 = not scored, as zeros)."""
    forward = type(model).forward.__get__(model)
    if not fused_lm_head:
        extra = {
            "labels": labels,
            "shift_labels": shift_labels,
            "num_items_in_batch": num_items_in_batch,
        }
        return forward(*args, **kwargs, **{k: v for k, v in extra.items() if v is not None})
    kwargs["use_cache"] = False
    logits = forward(*args, **kwargs).logits
    if shift_labels is None:
        assert labels is not None, "fused_lm_head=True needs labels"
        logits, targets = logits[:, :-1], labels[:, 1:]
    else:
        targets = shift_labels
    mask = targets != -100
    log_softmax = logits.float().log_softmax(dim=-1)
    log_probs = log_softmax.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    log_probs = log_probs.masked_fill(~mask, 0.0)
    with torch.no_grad():
        entropy = -(log_softmax.exp() * log_softmax).sum(-1).masked_fill(~mask, 0.0)
        mean_logits = logits.float().mean(-1).masked_fill(~mask, 0.0)
        is_top1 = (logits.argmax(-1) == targets) & mask
        log_sum_sq_probs = torch.logsumexp(2 * log_softmax, dim=-1).masked_fill(~mask, 0.0)
    count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(
        loss=-log_probs.sum() / count,
        log_probs=log_probs,
        entropy=entropy,
        log_sum_sq_probs=log_sum_sq_probs,
        mean_logits=mean_logits,
        is_top1=is_top1,
        label_mask=mask,
    )


def use_plain_forward(model: Any) -> None:
    """Replace the fused LM head TRL patched onto `model` (if any) by `plain_forward`."""
    if model is not None:
        model.forward = types.MethodType(plain_forward, model)


class PlainLogProbsDPOTrainer(DPOTrainer):
    """`DPOTrainer` whose policy and reference score tokens through `plain_forward`."""

    def _precompute_ref_logps(self, dataset: Any, name: str, batch_size: int) -> Any:
        self._use_plain_heads()  # runs inside DPOTrainer.__init__, after it patched the heads
        return super()._precompute_ref_logps(dataset, name, batch_size)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._use_plain_heads()

    def _use_plain_heads(self) -> None:
        use_plain_forward(self.model)
        use_plain_forward(self.ref_model)


def plain_log_probs_fit(training: Any, peft_config: Any) -> bool:
    """True when `training` (a `DPOConfig`) runs on CPU in fp32 with heads the plain forward replaces
    alike: no PEFT adapter (TRL then patches the base model inside it), no Liger kernels, no
    padding-free packing. In bf16 TRL's fused head stays: it was 1.2x faster there (plain 1.06x faster
    in fp32; benchmarks/RESULTS.md, "DPO on CPU") and keeps the policy's first-step log-probabilities
    equal to the precomputed reference's, where bf16 logits drift."""
    on_cpu = bool(training.use_cpu) or not torch.cuda.is_available()
    return (
        on_cpu
        and not training.bf16
        and peft_config is None
        and not training.use_liger_kernel
        and not training.padding_free
    )
