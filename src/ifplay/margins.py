"""DPO's implicit reward margin on held-out pairs: how much more a trained model prefers the chosen
response over the rejected one than its reference does. For SPIN (chosen = real, rejected = the
model's own generation) it should grow as the model's generations approach the real ones.

    margin = beta * [(log p(chosen) - log p_ref(chosen)) - (log p(rejected) - log p_ref(rejected))]
"""

from collections.abc import Sequence
from typing import Any


def response_logprobs(
    model_path: str, rows: Sequence[dict[str, Any]], sides: Sequence[str] = ("chosen", "rejected")
) -> dict[str, list[float]]:
    """Per side, the sum of log-probabilities of each row's `side` message given its prompt (chat
    template), with the model loaded once."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    totals: dict[str, list[float]] = {side: [] for side in sides}
    for side in sides:
        for row in rows:
            prefix = tokenizer.apply_chat_template(
                row["prompt"], tokenize=False, add_generation_prompt=True
            )
            full = tokenizer.apply_chat_template(row["prompt"] + row[side], tokenize=False)
            prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
            full_ids = tokenizer(full, add_special_tokens=False, return_tensors="pt")["input_ids"]
            with torch.inference_mode():
                logits = model(full_ids).logits[0, :-1].float()
            targets = full_ids[0, 1:]
            logprobs = torch.log_softmax(logits, dim=-1).gather(1, targets.unsqueeze(1)).squeeze(1)
            totals[side].append(float(logprobs[len(prefix_ids) - 1 :].sum()))
    return totals


def reward_margins(
    policy: str, reference: str, rows: Sequence[dict[str, Any]], beta: float
) -> dict[str, float]:
    """Mean implicit reward margin and the share of pairs where it is positive."""
    if not rows:
        return {"heldout_reward_margin": 0.0, "heldout_reward_accuracy": 0.0, "heldout_pairs": 0}
    trained, ref = response_logprobs(policy, rows), response_logprobs(reference, rows)
    pc, pr, rc, rr = trained["chosen"], trained["rejected"], ref["chosen"], ref["rejected"]
    margins = [beta * ((a - b) - (c - d)) for a, b, c, d in zip(pc, rc, pr, rr, strict=True)]
    return {
        "heldout_reward_margin": sum(margins) / len(margins),
        "heldout_reward_accuracy": sum(m > 0 for m in margins) / len(margins),
        "heldout_pairs": len(margins),
    }
