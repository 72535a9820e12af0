"""Shared test set-up: offline Hub, quiet distilabel, and paths to the repo and ../shared data."""

import os
import time
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def budget_spent_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any `--stop-after` budget (still parsed and checked) is already spent when the work starts, so
    the work stops after its first checkpoint interval on a fast machine as on a slow one."""
    import ifplay.budget as budget

    parse = budget.parse_duration

    def spent(text: str | None, flag: str = "--stop-after") -> float | None:
        return None if text is None else time.time() - parse(text, flag)

    monkeypatch.setattr(budget, "deadline_after", spent)


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data` beside the repo (tests and CI only); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_checkpoint_dir() -> Path:
    """The embedded SmolLM2 converted to a HF checkpoint (converted once, then cached)."""
    from ifplay.embedded import embedded_checkpoint

    return embedded_checkpoint()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, embedded_checkpoint_dir: Path) -> Path:
    """A tiny random Llama with SmolLM2's tokenizer and chat template, for fast unit tests."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(embedded_checkpoint_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
