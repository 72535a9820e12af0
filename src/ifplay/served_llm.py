"""A distilabel LLM for a vLLM server that ifplay started (`engine: vllm` without a GPU).

`build_llm` starts (or reuses) the server in the process that builds the pipeline, before
distilabel forks its workers, and hands distilabel's `OpenAILLM` the server's URL; the workers only
send requests, a batch's prompts all in flight at once, so vLLM batches them. Sampling is
reproducible: every request carries the spec's seed, and vLLM seeds each request's own generator
with it, so an answer depends on its conversation and the seed only, not on what runs beside it
(a rerun or a resumed run samples the same answers).
"""

from typing import Any

from ifplay.config import ModelSpec


def served_llm(spec: ModelSpec, model_path: str, generation: dict[str, Any]) -> Any:
    """An unloaded distilabel `OpenAILLM` answering through a local vLLM server for `model_path`."""
    from distilabel.models.llms import OpenAILLM
    from pydantic import SecretStr

    from ifplay.vllm_server import REQUEST_TIMEOUT_S, ServerSettings, served

    server = served(ServerSettings.for_spec(spec, model_path))
    kwargs = dict(generation)
    if spec.seed is not None:
        kwargs["extra_body"] = {"seed": spec.seed}
    return OpenAILLM(
        model=server.model_name,
        base_url=server.base_url,
        api_key=SecretStr("EMPTY"),
        timeout=REQUEST_TIMEOUT_S,
        generation_kwargs=kwargs,
    )
