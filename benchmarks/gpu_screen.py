"""Screen self-play recipes on one GPU in minutes: sample, pick pairs as `pipelines/repair.yaml` does,
train SFT / DPO variants, answer all 541 IFEval prompts with each.

On 2 CPU cores one such variant costs an hour (sampling, training, a full IFEval); on a GPU the whole
screen fits in a few minutes. The GPU side needs only torch, transformers and gguf: ifplay's leaf
modules (`ifplay.constraints`, `ifplay.constraints.answers`) come from `src/` on PYTHONPATH, so the
verifiers that choose the data are the library's own. Training here is a plain PyTorch loop (SFT: mean
token NLL; DPO: sigmoid loss plus the chosen side's NLL, as TRL's `loss_type: [sigmoid, sft]`), not
TRL: the screen ranks recipes; the winner is confirmed with `ifplay train` and `ifplay eval`.

    python benchmarks/gpu_screen.py stage STAGE --ifeval IFEVAL_INPUT.jsonl        # here: inputs
    PYTHONPATH=src python benchmarks/gpu_screen.py run STAGE OUT --gguf MODEL.gguf  # on the GPU
    python benchmarks/gpu_screen.py score OUT                                       # here: IFEval

`stage` writes prompts-1/2.jsonl (ShareGPT requests with 0-3 library constraints, drawn as the repair
pipeline draws them, held-out families excluded), ifeval.jsonl and ppl.jsonl (the held-out ShareGPT
exchanges of `sharegpt_ppl`). `run` writes, for each model it trains, ifeval-NAME.jsonl.gz (prompt,
response, tokens) and a log.json with the data counts, losses, answer lengths and ShareGPT perplexity
of every model; the training data goes to data.tar.gz. `score` runs `ifplay eval --responses` on each
answer file and `ifplay compare` against the base.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import math
import random
import subprocess
import tarfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

END_OF_TURN = "<|im_end|>"


class Clock:
    """Seconds since the start against a budget: stages that would not fit are skipped, not cut."""

    def __init__(self, budget_s: float) -> None:
        self.start = time.monotonic()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def fits(self, needed_s: float) -> bool:
        return self.elapsed() + needed_s <= self.budget_s


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


# ---------------------------------------------------------------- stage (here, with ifplay installed)


def stage(out: Path, ifeval_input: Path, count: int) -> None:
    """Write the run's inputs into `out`: two prompt sets, IFEval prompts, held-out ShareGPT pairs."""
    from ifplay.evaluation.heldout import installed_heldout_pairs
    from ifplay.pipelines.repair import RepairConfig, RepairPrompts, build_prompts

    out.mkdir(parents=True, exist_ok=True)
    for index, seed in ((1, 0), (2, 1)):
        config = RepairConfig(name="gpu-screen", seed=seed, prompts=RepairPrompts(count=count))
        rows = [
            {"prompt": row["prompt"], "constraints_json": row["constraints_json"]}
            for row in build_prompts(config)
        ]
        write_jsonl(out / f"prompts-{index}.jsonl", rows)
    write_jsonl(out / "ifeval.jsonl", [{"prompt": r["prompt"]} for r in read_jsonl(ifeval_input)])
    pairs = installed_heldout_pairs("sharegpt_ppl") or []
    write_jsonl(out / "ppl.jsonl", pairs)
    print(f"staged {out}: 2 x {count} prompts, IFEval, {len(pairs)} perplexity pairs")


# ---------------------------------------------------------------- run (on the GPU)


class Chat:
    """The tokenizer's chat template as token ids: a user turn (ready for the answer) and an answer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.end_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)

    def prompt_ids(self, text: str) -> list[int]:
        rendered = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        return self.tokenizer(rendered, add_special_tokens=False)["input_ids"]

    def answer_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.end_id]


def generate(
    model: Any,
    chat: Chat,
    prompts: list[str],
    max_new_tokens: int,
    temperature: float,
    batch: int,
    seed: int,
) -> list[dict[str, Any]]:
    """One answer per prompt, in prompt order: {"response", "tokens", "capped"} (greedy at T 0).

    Prompts go longest first in batches of `batch`, left-padded; the model is used as given (cast it
    before). Decoding stops at the end-of-turn token or `max_new_tokens` (then `capped`)."""
    import torch

    ids = [chat.prompt_ids(p) for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    pad = chat.tokenizer.pad_token_id
    results: list[dict[str, Any] | None] = [None] * len(ids)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            input_ids[row, width - len(ids[i]) :] = torch.tensor(ids[i])
            mask[row, width - len(ids[i]) :] = 1
        torch.manual_seed(seed + start)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.95}
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                eos_token_id=chat.end_id,
                pad_token_id=pad,
                **(sampling if temperature > 0 else {"do_sample": False}),
            )
        for row, i in enumerate(chunk):
            new = output[row, width:].tolist()
            ended = chat.end_id in new
            new = new[: new.index(chat.end_id)] if ended else new
            text = chat.tokenizer.decode(new, skip_special_tokens=True)
            results[i] = {"response": text, "tokens": len(new), "capped": not ended}
    return [r for r in results if r is not None]


def sequence_batch(rows: list[tuple[list[int], list[int]]], device: Any) -> tuple[Any, Any, Any]:
    """(input_ids, attention_mask, labels) right-padded from (prompt ids, answer ids) rows; labels
    are -100 on the prompt and the padding."""
    import torch

    width = max(len(p) + len(a) for p, a in rows)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, -100)
    for row, (prompt, answer) in enumerate(rows):
        sequence = prompt + answer
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
        labels[row, len(prompt) : len(sequence)] = torch.tensor(answer)
    return input_ids.to(device), mask.to(device), labels.to(device)


def answer_log_probs(model: Any, batch: tuple[Any, Any, Any]) -> tuple[Any, Any]:
    """(sum of the answer tokens' log-probabilities, their count), one per row."""
    import torch

    input_ids, mask, labels = batch
    logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
    targets = labels[:, 1:]
    keep = targets != -100
    picked = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1))
    picked = picked.squeeze(-1) * keep
    return picked.sum(-1), keep.sum(-1)


def train(
    model: Any,
    examples: list[Any],
    loss_of: Callable[[Any, list[Any]], Any],
    lr: float,
    epochs: int,
    batch: int,
    seed: int,
) -> list[float]:
    """AdamW, 10 % linear warm-up then cosine decay, clip 1.0, bf16 autocast; returns the loss of every
    step. `loss_of(model, examples)` gives one batch's loss."""
    import torch

    steps = math.ceil(len(examples) / batch) * epochs
    warmup = max(1, steps // 10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    rng = random.Random(seed)
    device_type = next(model.parameters()).device.type
    losses = []
    model.train()
    for _ in range(epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            chunk = [examples[i] for i in order[start : start + batch]]
            with torch.autocast(device_type, dtype=torch.bfloat16):
                loss = loss_of(model, chunk)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(float(loss.detach()), 4))
    model.eval()
    return losses


def sft_loss(model: Any, chunk: list[tuple[list[int], list[int]]]) -> Any:
    """Mean NLL over the batch's answer tokens."""
    total, count = answer_log_probs(model, sequence_batch(chunk, next(model.parameters()).device))
    return -total.sum() / count.sum()


def dpo_loss(beta: float, sft_weight: float) -> Callable[[Any, list[dict[str, Any]]], Any]:
    """Sigmoid DPO against precomputed reference log-probs (`ref_chosen`, `ref_rejected` in each
    example) plus `sft_weight` x the chosen answers' mean token NLL."""
    import torch

    def loss_of(model: Any, chunk: list[dict[str, Any]]) -> Any:
        rows = [e["chosen"] for e in chunk] + [e["rejected"] for e in chunk]
        total, count = answer_log_probs(
            model, sequence_batch(rows, next(model.parameters()).device)
        )
        chosen, rejected = total[: len(chunk)], total[len(chunk) :]
        ref = torch.tensor(
            [[e["ref_chosen"], e["ref_rejected"]] for e in chunk], device=total.device
        )
        margin = beta * ((chosen - ref[:, 0]) - (rejected - ref[:, 1]))
        nll = -chosen.sum() / count[: len(chunk)].sum()
        return -torch.nn.functional.logsigmoid(margin).mean() + sft_weight * nll

    return loss_of


def reference_log_probs(model: Any, examples: list[dict[str, Any]], batch: int) -> None:
    """Fill `ref_chosen` / `ref_rejected` of each DPO example from `model` (no gradients)."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
        for start in range(0, len(examples), batch):
            chunk = examples[start : start + batch]
            rows = [e["chosen"] for e in chunk] + [e["rejected"] for e in chunk]
            total, _ = answer_log_probs(model, sequence_batch(rows, device))
            for offset, example in enumerate(chunk):
                example["ref_chosen"] = float(total[offset])
                example["ref_rejected"] = float(total[len(chunk) + offset])


def perplexity(model: Any, chat: Chat, pairs: list[dict[str, str]], batch: int) -> float | None:
    """exp(mean NLL per answer token) of the held-out ShareGPT answers, fp32."""
    import torch

    if not pairs:
        return None
    device = next(model.parameters()).device
    rows = [(chat.prompt_ids(p["prompt"]), chat.answer_ids(p["response"])[:-1]) for p in pairs]
    nll, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            total, count = answer_log_probs(
                model, sequence_batch(rows[start : start + batch], device)
            )
            nll -= float(total.sum())
            tokens += int(count.sum())
    return round(math.exp(nll / tokens), 4)


def choose_data(
    prompts: list[dict[str, Any]], answers: list[list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """repair.yaml's choice on sampled answers: per prompt {"prompt", "chosen", "rejected" | None,
    "how", "families"}, dropped prompts left out; plus counts of how each prompt fared."""
    from ifplay.constraints.answers import choose_pair

    chosen_rows, how = [], Counter()
    for prompt, samples in zip(prompts, answers, strict=True):
        constraints = json.loads(prompt["constraints_json"])
        picked = choose_pair(
            constraints, [s["response"] for s in samples], [s["capped"] for s in samples]
        )
        how[picked["how"]] += 1
        if picked["chosen"] is None:
            continue
        chosen_rows.append(
            {
                "prompt": prompt["prompt"],
                "chosen": picked["chosen"],
                "rejected": picked["rejected"],
                "how": picked["how"],
                "families": [c["family_id"] for c in constraints],
            }
        )
    return chosen_rows, {"how": dict(how), "rows": len(chosen_rows)}


def sample_data(
    model: Any, chat: Chat, prompts: list[dict[str, Any]], args: argparse.Namespace, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`args.samples` answers per prompt at `args.temperature`, then `choose_data`."""
    texts = [p["prompt"] for p in prompts for _ in range(args.samples)]
    flat = generate(
        model, chat, texts, args.sample_tokens, args.temperature, args.sample_batch, seed
    )
    grouped = [flat[i : i + args.samples] for i in range(0, len(flat), args.samples)]
    rows, stats = choose_data(prompts, grouped)
    stats["capped_samples"] = sum(s["capped"] for s in flat)
    stats["samples"] = len(flat)
    return rows, stats


def run(stage_dir: Path, out: Path, args: argparse.Namespace) -> None:
    """The screen: base, data from the base, SFT, DPO, SFT then DPO, one more DPO iteration on the
    last model's own samples; each model answers IFEval (greedy) while the budget lasts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    clock = Clock(args.budget_s)
    torch.backends.cuda.matmul.allow_tf32 = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out.mkdir(parents=True, exist_ok=True)
    log: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "models": {}}

    def save_log() -> None:
        log["elapsed_s"] = round(clock.elapsed(), 1)
        (out / "log.json").write_text(json.dumps(log, indent=1) + "\n")

    tokenizer = AutoTokenizer.from_pretrained(args.gguf.parent, gguf_file=args.gguf.name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    base = AutoModelForCausalLM.from_pretrained(args.gguf.parent, gguf_file=args.gguf.name)
    base.hf_quantizer = (
        None  # de-quantized on load: a plain model from here on (as ifplay converts)
    )
    if hasattr(base.config, "quantization_config"):
        del base.config.quantization_config
    base = base.to(device=device, dtype=torch.float32).eval()
    chat = Chat(tokenizer)
    ifeval = [r["prompt"] for r in read_jsonl(stage_dir / "ifeval.jsonl")][: args.limit]
    ppl_pairs = read_jsonl(stage_dir / "ppl.jsonl")[: args.ppl_pairs]
    log["load_s"] = round(clock.elapsed(), 1)

    def for_decoding(model: Any) -> Any:
        return copy.deepcopy(model).to(torch.bfloat16).eval()

    def evaluate(name: str, model: Any, extra: dict[str, Any]) -> None:
        began = clock.elapsed()
        answers = generate(
            for_decoding(model), chat, ifeval, args.eval_tokens, 0.0, args.eval_batch, 0
        )
        rows = [{"prompt": p, **a} for p, a in zip(ifeval, answers, strict=True)]
        write_jsonl(out / f"ifeval-{name}.jsonl.gz", rows)
        lengths = sorted(len(a["response"]) for a in answers)
        log["models"][name] = {
            **extra,
            "eval_s": round(clock.elapsed() - began, 1),
            "capped": sum(a["capped"] for a in answers),
            "median_chars": lengths[len(lengths) // 2],
            "ppl": perplexity(model, chat, ppl_pairs, args.ppl_batch),
        }
        save_log()
        print(f"[{clock.elapsed():6.1f}s] {name}: {log['models'][name]}", flush=True)

    evaluate("base", base, {})
    prompts = read_jsonl(stage_dir / "prompts-1.jsonl")[: args.prompts]
    began = clock.elapsed()
    data, stats = sample_data(for_decoding(base), chat, prompts, args, seed=1)
    log["data-1"] = {**stats, "sample_s": round(clock.elapsed() - began, 1)}
    save_log()
    print(f"[{clock.elapsed():6.1f}s] data-1: {log['data-1']}", flush=True)
    all_data = {"data-1": data}

    def sft_from(model: Any, rows: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
        trained = copy.deepcopy(model)
        examples = [(chat.prompt_ids(r["prompt"]), chat.answer_ids(r["chosen"])) for r in rows]
        examples = [(p, a[: args.max_answer_tokens]) for p, a in examples]
        losses = train(trained, examples, sft_loss, args.sft_lr, args.sft_epochs, 16, 0)
        return trained, {"rows": len(examples), "steps": len(losses), "losses": losses[::5]}

    def dpo_from(model: Any, rows: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
        examples = [
            {
                "chosen": (chat.prompt_ids(r["prompt"]), chat.answer_ids(r["chosen"])),
                "rejected": (chat.prompt_ids(r["prompt"]), chat.answer_ids(r["rejected"])),
            }
            for r in rows
            if r["rejected"] is not None and r["rejected"] != r["chosen"]
        ]
        for e in examples:
            e["chosen"] = (e["chosen"][0], e["chosen"][1][: args.max_answer_tokens])
            e["rejected"] = (e["rejected"][0], e["rejected"][1][: args.max_answer_tokens])
        reference_log_probs(model, examples, 16)
        trained = copy.deepcopy(model)
        loss_of = dpo_loss(args.beta, args.sft_weight)
        losses = train(trained, examples, loss_of, args.dpo_lr, args.dpo_epochs, 8, 0)
        return trained, {"pairs": len(examples), "steps": len(losses), "losses": losses[::5]}

    steps: list[tuple[str, Callable[[], tuple[Any, dict[str, Any]]]]] = []
    trained: dict[str, Any] = {}
    steps.append(("sft", lambda: sft_from(base, data)))
    steps.append(("dpo", lambda: dpo_from(base, data)))
    steps.append(("sft-dpo", lambda: dpo_from(trained["sft"], data)))
    for name, make in steps:
        if not clock.fits(args.step_estimate_s):
            log["skipped"] = log.get("skipped", []) + [name]
            continue
        began = clock.elapsed()
        model, info = make()
        trained[name] = model
        evaluate(name, model, {**info, "train_s": round(clock.elapsed() - began, 1)})
    last = next((n for n in ("sft-dpo", "sft") if n in trained), None)
    if last is not None and clock.fits(args.iteration_estimate_s):
        prompts = read_jsonl(stage_dir / "prompts-2.jsonl")[: args.prompts]
        began = clock.elapsed()
        data2, stats = sample_data(for_decoding(trained[last]), chat, prompts, args, seed=2)
        log["data-2"] = {**stats, "from": last, "sample_s": round(clock.elapsed() - began, 1)}
        all_data["data-2"] = data2
        model, info = dpo_from(trained[last], data2)
        evaluate(f"{last}-iter2", model, info)
    else:
        log["skipped"] = log.get("skipped", []) + ["iter2"]
    with tarfile.open(out / "data.tar.gz", "w:gz") as tar:
        for name, rows in all_data.items():
            path = out / f"{name}.jsonl"
            write_jsonl(path, rows)
            tar.add(path, arcname=path.name)
            path.unlink()
    save_log()
    print(f"done in {clock.elapsed():.0f} s", flush=True)


# ---------------------------------------------------------------- score (here)


def score(out: Path) -> None:
    """`ifplay eval --responses` for every answer file, then `ifplay compare` against the base."""
    names = sorted(
        p.name[len("ifeval-") : -len(".jsonl.gz")] for p in out.glob("ifeval-*.jsonl.gz")
    )
    for name in names:
        plain = out / f"answers-{name}.jsonl"
        write_jsonl(plain, read_jsonl(out / f"ifeval-{name}.jsonl.gz"))
        command = ["ifplay", "eval", "--responses", str(plain), "--tasks", "ifeval"]
        subprocess.run([*command, "--output", str(out / f"eval-{name}")], check=True)
    for name in names:
        if name != "base":
            base, other = out / "eval-base", out / f"eval-{name}"
            subprocess.run(["ifplay", "compare", str(base), str(other)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    staging = sub.add_parser("stage")
    staging.add_argument("stage_dir", type=Path)
    staging.add_argument("--ifeval", type=Path, required=True, help="IFEval input_data.jsonl")
    staging.add_argument("--count", type=int, default=2000)
    running = sub.add_parser("run")
    running.add_argument("stage_dir", type=Path)
    running.add_argument("out", type=Path)
    running.add_argument("--gguf", type=Path, required=True)
    running.add_argument("--budget-s", type=float, default=420)
    running.add_argument("--limit", type=int, default=None, help="IFEval prompts (all by default)")
    running.add_argument("--prompts", type=int, default=2000)
    running.add_argument("--samples", type=int, default=4)
    running.add_argument("--temperature", type=float, default=0.7)
    running.add_argument("--sample-tokens", type=int, default=768)
    running.add_argument("--sample-batch", type=int, default=2048)
    running.add_argument("--eval-tokens", type=int, default=1280)
    running.add_argument("--eval-batch", type=int, default=544)
    running.add_argument("--ppl-batch", type=int, default=32)
    running.add_argument("--ppl-pairs", type=int, default=None, help="held-out pairs (all)")
    running.add_argument("--max-answer-tokens", type=int, default=768)
    running.add_argument("--sft-lr", type=float, default=2e-5)
    running.add_argument("--sft-epochs", type=int, default=2)
    running.add_argument("--dpo-lr", type=float, default=5e-6)
    running.add_argument("--dpo-epochs", type=int, default=2)
    running.add_argument("--beta", type=float, default=0.1)
    running.add_argument("--sft-weight", type=float, default=1.0)
    running.add_argument("--step-estimate-s", type=float, default=60)
    running.add_argument("--iteration-estimate-s", type=float, default=120)
    scoring = sub.add_parser("score")
    scoring.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "stage":
        stage(args.stage_dir, args.ifeval, args.count)
    elif args.command == "run":
        run(args.stage_dir, args.out, args)
    else:
        score(args.out)


if __name__ == "__main__":
    main()
