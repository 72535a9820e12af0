"""The batched transformers engine and the engine factory."""

import pytest

from ifplay.config import ModelSpec, sampling_kwargs
from ifplay.errors import IfplayError
from ifplay.models import (
    LLAMA_RANDOM_SEED,
    build_llm,
    llamacpp_seed,
    resolve_model_path,
)
from ifplay.transformers_llm import BatchedTransformersLLM

PROMPTS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "Write a long poem about the sea and the sky, please."}],
    [{"role": "user", "content": "What is two plus two?"}],
]


def _load(path, **kwargs) -> BatchedTransformersLLM:
    llm = BatchedTransformersLLM(model=str(path), **kwargs)
    llm.load()
    return llm


def test_batched_greedy_matches_one_at_a_time(tiny_model_dir):
    llm = _load(tiny_model_dir)
    batched = llm.generate(PROMPTS, max_new_tokens=12, temperature=0.0)
    single = [llm.generate([p], max_new_tokens=12, temperature=0.0)[0] for p in PROMPTS]
    assert [b["generations"] for b in batched] == [s["generations"] for s in single]
    assert [b["statistics"]["output_tokens"] for b in batched] == [
        s["statistics"]["output_tokens"] for s in single
    ]


def test_num_generations_and_token_counts(tiny_model_dir):
    llm = _load(tiny_model_dir, seed=0)
    outputs = llm.generate(PROMPTS, num_generations=3, max_new_tokens=8, temperature=1.0)
    assert len(outputs) == len(PROMPTS)
    for out in outputs:
        assert len(out["generations"]) == 3
        assert all(0 <= n <= 8 for n in out["statistics"]["output_tokens"])
        assert out["statistics"]["input_tokens"][0] > 0


def test_prompt_uses_chat_template(tiny_model_dir):
    llm = _load(tiny_model_dir)
    text = llm.render([{"role": "user", "content": "ping"}])
    assert "<|im_start|>user\nping<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_embedded_checkpoint_keeps_chat_template(embedded_checkpoint_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_checkpoint_dir)
    assert "<|im_start|>" in tokenizer.chat_template
    assert (embedded_checkpoint_dir / "model.safetensors").is_file()
    assert resolve_model_path("smollm2-135m-instruct") == str(embedded_checkpoint_dir)


def test_factory_builds_transformers_llm_with_sampling(tiny_model_dir):
    spec = ModelSpec(name=str(tiny_model_dir), temperature=0.3, top_p=0.8, max_new_tokens=5)
    llm = build_llm(spec)
    assert isinstance(llm, BatchedTransformersLLM)
    assert llm.generation_kwargs == {"max_new_tokens": 5, "temperature": 0.3, "top_p": 0.8}
    assert sampling_kwargs(spec) == llm.generation_kwargs


def test_openai_engine_reads_key_from_env_and_never_shows_it(monkeypatch):
    monkeypatch.setenv("IFPLAY_TEST_KEY", "sk-secret-value")
    spec = ModelSpec(
        name="served-model",
        engine="openai",
        base_url="http://127.0.0.1:9/v1",
        api_key_env="IFPLAY_TEST_KEY",
    )
    llm = build_llm(spec)
    assert llm.api_key.get_secret_value() == "sk-secret-value"
    assert "sk-secret-value" not in repr(llm) and "sk-secret-value" not in str(llm.dump())


def test_openai_engine_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("IFPLAY_MISSING_KEY", raising=False)
    spec = ModelSpec(name="m", engine="openai", api_key_env="IFPLAY_MISSING_KEY")
    with pytest.raises(IfplayError, match="IFPLAY_MISSING_KEY is not set"):
        build_llm(spec)


def test_missing_local_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(IfplayError, match="no such folder"):
        resolve_model_path(str(tmp_path / "nope"))
    with pytest.raises(IfplayError, match="no config.json"):
        resolve_model_path(str(tmp_path))


def test_seeded_sampling_depends_only_on_the_batch(tiny_model_dir):
    llm = _load(tiny_model_dir, seed=7)
    first = llm.generate(PROMPTS[:2], num_generations=2, max_new_tokens=8, temperature=1.0)
    llm.generate(PROMPTS[2:], max_new_tokens=8, temperature=1.0)  # consumes random state
    again = llm.generate(PROMPTS[:2], num_generations=2, max_new_tokens=8, temperature=1.0)
    assert [o["generations"] for o in first] == [o["generations"] for o in again]
    other = _load(tiny_model_dir, seed=8).generate(
        PROMPTS[:2], num_generations=2, max_new_tokens=8, temperature=1.0
    )
    assert [o["generations"] for o in other] != [o["generations"] for o in first]


@pytest.mark.parametrize(("seed", "expected"), [(0, 0), (7, 7), (None, LLAMA_RANDOM_SEED)])
def test_llamacpp_keeps_seed_zero(seed, expected):
    assert llamacpp_seed(seed) == expected


def test_models_lists_vllm_cpu_when_its_environment_is_set_up(monkeypatch, capsys):
    import sys

    from ifplay.cli import main
    from ifplay.models import in_process_vllm_installed

    if in_process_vllm_installed():
        pytest.skip("the GPU vllm package is installed here")
    monkeypatch.setenv("IFPLAY_VLLM_PYTHON", sys.executable)
    assert main(["models"]) == 0
    assert f"vllm-cpu server ({sys.executable})" in capsys.readouterr().out
    monkeypatch.setenv("IFPLAY_VLLM_PYTHON", "/no/such/python")
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("vllm"))
    assert "not installed" in line
