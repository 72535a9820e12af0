"""The append-only KV cache: the same keys and values as transformers' `DynamicCache`, the same
generations (greedy, sampled, beam search, left padding), and one allocation per layer when the final
length is known."""

from pathlib import Path

import pytest
import torch

from ifplay.kv_cache import MIN_CAPACITY, AppendOnlyLayer, append_only_cache


def _states(batch: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, 2, tokens, 8), torch.randn(batch, 2, tokens, 8)


@pytest.mark.parametrize("capacity", [None, 40, 5000])
def test_layer_returns_what_concatenation_returns(capacity: int | None) -> None:
    """A prefill then single-token steps, past the first buffer's size when no capacity is given."""
    torch.manual_seed(0)
    layer = AppendOnlyLayer(capacity)
    keys, values = _states(3, 0)
    for step in range(MIN_CAPACITY + 20):
        new_keys, new_values = _states(3, 30 if step == 0 else 1)
        keys, values = torch.cat([keys, new_keys], -2), torch.cat([values, new_values], -2)
        got_keys, got_values = layer.update(new_keys, new_values)
        assert torch.equal(got_keys, keys) and torch.equal(got_values, values)
    assert layer.get_seq_length() == 30 + MIN_CAPACITY + 19


def test_a_known_capacity_allocates_once() -> None:
    layer = AppendOnlyLayer(capacity=64)
    layer.update(*_states(2, 10))
    buffer = layer._key_buffer.data_ptr()
    for _ in range(54):
        layer.update(*_states(2, 1))
    assert layer._key_buffer.data_ptr() == buffer and layer.get_seq_length() == 64
    layer.update(*_states(2, 1))  # one past the capacity: a new, larger buffer
    assert layer._key_buffer.data_ptr() != buffer and layer._key_buffer.shape[-2] >= 96


def test_tensors_replaced_from_outside_are_picked_up() -> None:
    """Cropping and batch selection replace `keys`; the next update must build on the new tensors."""
    torch.manual_seed(1)
    layer = AppendOnlyLayer(capacity=32)
    layer.update(*_states(3, 6))
    layer.crop(-2)
    layer.batch_select_indices(torch.tensor([2, 0]))
    kept_keys, kept_values = layer.keys.clone(), layer.values.clone()
    new_keys, new_values = _states(2, 1)
    got_keys, got_values = layer.update(new_keys, new_values)
    assert torch.equal(got_keys, torch.cat([kept_keys, new_keys], -2))
    assert torch.equal(got_values, torch.cat([kept_values, new_values], -2))
    layer.reset()
    assert layer.get_seq_length() == 0
    assert torch.equal(layer.update(new_keys, new_values)[0], new_keys)


@pytest.mark.parametrize(
    "options",
    [
        {"do_sample": False},
        {"do_sample": True, "temperature": 0.9, "top_p": 0.9, "num_return_sequences": 3},
        {"do_sample": False, "num_beams": 3},
    ],
    ids=["greedy", "sampled", "beam-search"],
)
def test_generations_match_the_dynamic_cache(tiny_model_dir: Path, options: dict) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    encoded = tokenizer(
        ["Write a haiku about rain, in lowercase.", "Hi", "List three colours as JSON."],
        return_tensors="pt",
        padding=True,
    )
    outputs = []
    for cache in (None, append_only_cache(model.config, encoded["input_ids"].shape[1] + 40)):
        torch.manual_seed(7)
        with torch.inference_mode():
            outputs.append(
                model.generate(
                    **encoded,
                    cache=cache,
                    max_new_tokens=40,
                    min_new_tokens=40,
                    pad_token_id=tokenizer.pad_token_id,
                    **options,
                )
            )
    assert outputs[0].shape[1] == encoded["input_ids"].shape[1] + 40
    assert torch.equal(outputs[0], outputs[1])


def test_only_full_attention_layers_are_replaced(tiny_model_dir: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert all(type(x) is AppendOnlyLayer for x in append_only_cache(config).layers)
    config.sliding_window = 16
    config.layer_types = ["full_attention", "sliding_attention"]
    layers = append_only_cache(config).layers
    assert type(layers[0]) is AppendOnlyLayer
    assert len(layers) == 2 and type(layers[1]) is not AppendOnlyLayer
