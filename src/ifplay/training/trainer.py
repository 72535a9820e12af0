"""Build TRL's trainer for a parsed recipe, the way `trl dpo` / `trl sft` build theirs.

The model is loaded by the trainer from `model_name_or_path` with the same `model_init_kwargs` TRL's
scripts set (revision, trust_remote_code, attn_implementation, dtype, then the recipe's own
`model_init_kwargs`). For DPO the reference model is TRL's default (a fresh copy of the start model)
unless `ref_model` names another checkpoint, which is then loaded with TRL's `create_model_from_path`.
SFT on CPU uses `PlainLossSFTTrainer` (`ifplay.training.cpu_sft`): the same loss, 1.7x faster there;
DPO on CPU in fp32 uses `PlainLogProbsDPOTrainer` (`ifplay.training.cpu_dpo`); in bf16 TRL's fused
head is the faster one and stays.
"""

from typing import Any

from ifplay.training.dataset import TrainData
from ifplay.training.recipe import Method, TrlArgs


def build_trainer(method: Method, args: TrlArgs, data: TrainData, ref_model: str | None) -> Any:
    """A ready `DPOTrainer` or `SFTTrainer` (nothing trained yet)."""
    from trl import DPOTrainer, SFTTrainer, get_peft_config, get_quantization_config

    training = args.training
    init_kwargs: dict[str, Any] = {
        "revision": args.model.model_revision,
        "trust_remote_code": training.trust_remote_code,
        "attn_implementation": args.model.attn_implementation,
        "dtype": args.model.dtype,
    }
    if training.model_init_kwargs is not None:
        init_kwargs.update(training.model_init_kwargs)
    training.model_init_kwargs = init_kwargs
    quantization = get_quantization_config(args.model)
    kwargs: dict[str, Any] = {
        "model": args.model.model_name_or_path,
        "args": training,
        "train_dataset": data.train,
        "eval_dataset": data.eval,
        "quantization_config": quantization,
        "peft_config": get_peft_config(args.model),
    }
    if method == "sft":
        from ifplay.training.cpu_sft import PlainLossSFTTrainer, plain_loss_fits

        return (PlainLossSFTTrainer if plain_loss_fits(training) else SFTTrainer)(**kwargs)
    if ref_model is not None:
        kwargs["ref_model"] = load_reference(ref_model, init_kwargs, quantization)
    from ifplay.training.cpu_dpo import PlainLogProbsDPOTrainer, plain_log_probs_fit

    plain = plain_log_probs_fit(training, kwargs["peft_config"])
    return (PlainLogProbsDPOTrainer if plain else DPOTrainer)(**kwargs)


def load_reference(path: str, init_kwargs: dict[str, Any], quantization: Any) -> Any:
    """Load an explicit DPO reference model like the policy (same dtype/attention, its own revision)."""
    from trl.trainer.utils import create_model_from_path

    kwargs = {k: v for k, v in init_kwargs.items() if k != "revision"}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    return create_model_from_path(path, **kwargs)
