"""The held-out implicit reward margin used to follow SPIN iterations."""

import math

from ifplay.margins import response_logprobs, reward_margins

ROWS = [
    {
        "prompt": [{"role": "user", "content": "Name a colour."}],
        "chosen": [{"role": "assistant", "content": "Blue."}],
        "rejected": [{"role": "assistant", "content": "I like turtles very much indeed."}],
    },
    {
        "prompt": [{"role": "user", "content": "Say hi."}],
        "chosen": [{"role": "assistant", "content": "Hi!"}],
        "rejected": [{"role": "assistant", "content": "No."}],
    },
]


def test_logprobs_are_finite_negative_and_longer_answers_cost_more(tiny_model_dir):
    out = response_logprobs(str(tiny_model_dir), ROWS)
    assert set(out) == {"chosen", "rejected"}
    assert all(math.isfinite(v) and v < 0 for side in out.values() for v in side)
    # a random model spreads probability thinly: the long rejected answer of row 0 is less likely
    assert out["rejected"][0] < out["chosen"][0]


def test_margin_is_zero_when_the_model_is_its_own_reference(tiny_model_dir):
    result = reward_margins(str(tiny_model_dir), str(tiny_model_dir), ROWS, beta=0.1)
    assert result["heldout_pairs"] == 2
    assert abs(result["heldout_reward_margin"]) < 1e-6
    assert result["heldout_reward_accuracy"] == 0.0
