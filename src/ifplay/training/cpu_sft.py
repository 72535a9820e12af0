"""TRL's `SFTTrainer` with the loss computed the plain way, for training on CPU.

TRL 1.16's `SFTTrainer` gets its loss from a fused LM head (`trl.kernels.chunked_logprob`) that
never materialises the logits. On a GPU it runs Triton tiles; on a CPU it falls back to torch tiles
that project the hidden states through the vocabulary in float32, which took 44 % of a training step
of SmolLM2-135M-Instruct on 2 cores (py-spy). `PlainLossSFTTrainer` asks the model for its own loss
instead (the mean next-token NLL over the labelled, i.e. completion, tokens, with the Trainer's
gradient-accumulation normalisation), from autocast bf16 logits: the same loss (train loss 1.217 both
ways over 4 steps) at 1.7x the speed (benchmarks/RESULTS.md). What it gives up: TRL's `entropy` and
`mean_token_accuracy` logs.

Written for trl 1.16 (`SFTTrainer.compute_loss`) and transformers 5.24 (`Trainer.compute_loss`).
"""

from typing import Any

from transformers import Trainer
from trl import SFTTrainer

MODEL_INPUTS = ("input_ids", "attention_mask", "position_ids", "labels")


class PlainLossSFTTrainer(SFTTrainer):
    """`SFTTrainer` whose loss is the model's own (see the module docstring)."""

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """The model's mean NLL over `inputs["labels"]` (-100 = not scored), as `Trainer` computes it."""
        model_inputs = {key: value for key, value in inputs.items() if key in MODEL_INPUTS}
        return Trainer.compute_loss(self, model, model_inputs, return_outputs, num_items_in_batch)


def plain_loss_fits(training: Any) -> bool:
    """True when `training` (an `SFTConfig`) runs on CPU with a loss the plain path computes alike:
    TRL's `nll` loss, no label smoothing, no Liger kernels."""
    import torch

    on_cpu = bool(training.use_cpu) or not torch.cuda.is_available()
    return (
        on_cpu
        and training.loss_type in ("nll", "chunked_nll")
        and not training.label_smoothing_factor
        and not training.use_liger_kernel
    )
