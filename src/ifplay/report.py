"""`ifplay report RUN_DIR`: a Markdown report and PNG plots of a loop run, iteration by iteration.

Reads `manifest.json`, each iteration's `data/stats.json`, `model/train_result.json`, the eval
summaries recorded in the manifest and, where they exist, the IFEval answers (`iter-k/eval/details/
ifeval.jsonl`); writes `report.md`, `metrics.png`, `data.png` and `loss.png`. With the start model's
IFEval answers (the loop's baseline eval), every iteration is compared with it on the same prompts:
each metric's change with a paired bootstrap 95 % interval, and a per-instruction-type table.
"""

import json
from pathlib import Path
from typing import Any

from ifplay.errors import IfplayError
from ifplay.evaluation.paired import (
    Change,
    load_samples,
    mean_of_four,
    paired_changes,
    per_type_table,
)

IFEVAL_DETAILS = Path("eval") / "details" / "ifeval.jsonl"


def _iterations(manifest: dict[str, Any]) -> list[int]:
    keys = manifest.get("stages", {})
    return sorted({int(k.split("/")[0].removeprefix("iter-")) for k in keys})


def _stage(manifest: dict[str, Any], k: int, name: str) -> dict[str, Any]:
    return manifest["stages"].get(f"iter-{k}/{name}", {})


def collect(run_dir: Path) -> dict[str, Any]:
    """Everything the report shows, gathered from a run folder."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise IfplayError(f"{run_dir}: no manifest.json (not a loop run folder)")
    manifest = json.loads(path.read_text())
    rows = []
    for k in _iterations(manifest):
        ev = _stage(manifest, k, "eval")
        gen = _stage(manifest, k, "generate")
        train = _stage(manifest, k, "train")
        loss_file = run_dir / f"iter-{k}" / "model" / "train_result.json"
        history = (
            json.loads(loss_file.read_text()).get("log_history", []) if loss_file.is_file() else []
        )
        rows.append(
            {
                "iteration": k,
                "metrics": (ev.get("summary") or {}).get("metrics", {}),
                "data": (gen.get("summary") or {}),
                "train": (train.get("summary") or {}),
                "loss_history": [e for e in history if "loss" in e],
                "ifeval_details": _existing(run_dir / f"iter-{k}" / IFEVAL_DETAILS),
                "seconds": {
                    name: _stage(manifest, k, name).get("seconds")
                    for name in ("generate", "train", "eval")
                },
                "status": {
                    name: _stage(manifest, k, name).get("status", "-")
                    for name in ("generate", "train", "eval")
                },
            }
        )
    return {"name": manifest.get("name", run_dir.name), "iterations": rows}


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def paired_against_start(data: dict[str, Any]) -> dict[int, list[Change]]:
    """Per later iteration with IFEval answers: its paired changes against iteration 0's answers."""
    rows = data["iterations"]
    start = next((r for r in rows if r["iteration"] == 0 and r["ifeval_details"]), None)
    if start is None:
        return {}
    before = load_samples(start["ifeval_details"])
    return {
        r["iteration"]: paired_changes(before, load_samples(r["ifeval_details"]))
        for r in rows
        if r["iteration"] > 0 and r["ifeval_details"]
    }


def _paired_lines(data: dict[str, Any], changes: dict[int, list[Change]]) -> list[str]:
    """The paired-comparison section: one table per iteration, then the per-type table."""
    if not changes:
        return []
    lines = [
        "## IFEval against the start model (same prompts)",
        "",
        "Change of each metric in points, with its paired bootstrap 95 % confidence interval",
        "(prompts resampled together for both models): an interval that contains 0 is not a gain.",
        "",
        "| iteration | metric | start | this model | change | 95 % CI |",
        "|---|---|---:|---:|---:|---|",
    ]
    for k, items in changes.items():
        for c in items:
            lines.append(
                f"| {k} | {c.metric} | {100 * c.before:.1f} | {100 * c.after:.1f} "
                f"| {100 * c.change:+.1f} | {100 * c.low:+.1f} .. {100 * c.high:+.1f} |"
            )
        lines.append(f"| {k} | mean of four | | | {100 * mean_of_four(items):+.1f} | |")
    rows = {r["iteration"]: r for r in data["iterations"]}
    before = load_samples(rows[0]["ifeval_details"])
    tables = {k: per_type_table(before, load_samples(rows[k]["ifeval_details"])) for k in changes}
    first = next(iter(tables.values()))
    header = " | ".join(f"iteration {k}" for k in tables)
    lines += [
        "",
        "Prompts whose instruction of each type was followed (loose), start model and each iteration:",
        "",
        f"| instruction type | prompts | start | {header} |",
        "|---|---:|---:|" + "---:|" * len(tables),
    ]
    for index, row in enumerate(first):
        after = " | ".join(str(table[index].after) for table in tables.values())
        lines.append(f"| {row.type} | {row.prompts} | {row.before} | {after} |")
    return [*lines, ""]


def write_report(run_dir: Path) -> Path:
    """Write `report.md` and the PNG plots into `run_dir`; returns the report path."""
    data = collect(run_dir)
    changes = paired_against_start(data)
    plots = _plots(data, run_dir, changes)
    lines = [f"# ifplay loop report: {data['name']}", ""]
    metric_names = sorted({m for row in data["iterations"] for m in row["metrics"]})
    if metric_names:
        lines += ["## Evaluation", "", "| iteration | " + " | ".join(metric_names) + " |"]
        lines.append("|---" * (len(metric_names) + 1) + "|")
        for row in data["iterations"]:
            label = "0 (start model)" if row["iteration"] == 0 else str(row["iteration"])
            values = [_fmt(row["metrics"].get(m)) for m in metric_names]
            lines.append(f"| {label} | " + " | ".join(values) + " |")
        first, last = data["iterations"][0], data["iterations"][-1]
        if first is not last:
            lines += ["", "Change from the first to the last evaluated model:"]
            for m in metric_names:
                a, b = first["metrics"].get(m), last["metrics"].get(m)
                if isinstance(a, int | float) and isinstance(b, int | float):
                    lines.append(f"- {m}: {a:.4f} -> {b:.4f} ({b - a:+.4f})")
        lines.append("")
    lines += _paired_lines(data, changes)
    lines += _unfinished_lines(run_dir)
    lines += [
        "## Data and training",
        "",
        "| iteration | splits | mean pass rate | train loss | reward margin (train) "
        "| reward margin (held out) | seconds (gen/train/eval) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["iterations"]:
        if row["iteration"] == 0:
            continue
        splits = row["data"].get("splits", {})
        stats = row["data"].get("stats", {})
        mean = (stats.get("responses") or {}).get("mean_pass_rate")
        metrics = row["train"].get("metrics", {})
        secs = "/".join(_fmt(row["seconds"][n], 0) for n in ("generate", "train", "eval"))
        split_text = ", ".join(f"{k}: {v}" for k, v in splits.items())
        lines.append(
            f"| {row['iteration']} | {split_text} | {_fmt(mean)} | "
            f"{_fmt(metrics.get('train_loss'))} | {_fmt(metrics.get('rewards/margins'))} | "
            f"{_fmt(metrics.get('heldout_reward_margin'))} | {secs} |"
        )
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    report = run_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _unfinished_lines(run_dir: Path) -> list[str]:
    """A section naming each stage that has not finished (running, killed or stopped on the time
    budget) and how much of it is kept; nothing when every stage is done."""
    from ifplay.loop.progress import stage_progress

    stages = json.loads((run_dir / "manifest.json").read_text()).get("stages", {})
    lines = []
    for key, entry in stages.items():
        if entry.get("status") == "done":
            continue
        progress = stage_progress(run_dir, key) or entry.get("progress")
        kept = f": {progress} kept" if progress else ""
        lines.append(f"- {key}: {entry.get('status')}{kept}")
    if not lines:
        return []
    return ["## Unfinished stages", "", *lines, "", "Rerun the same `ifplay loop` to continue.", ""]


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, int | float):
        return f"{value:.{digits}f}"
    return "-" if value is None else str(value)


def _plots(data: dict[str, Any], run_dir: Path, changes: dict[int, list[Change]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["iterations"]
    written = []
    metric_names = sorted({m for row in rows for m in row["metrics"]})
    iterations = [r["iteration"] for r in rows]
    if metric_names:
        fig, ax = plt.subplots(figsize=(7, 4))
        for m in metric_names:
            points = [(r["iteration"], r["metrics"][m]) for r in rows if m in r["metrics"]]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            line = ax.plot(xs, ys, marker="o", label=m)[0]
            bars = [_interval(changes.get(x, []), m) for x in xs]
            if any(bars):
                low = [y - b[0] if b else 0 for y, b in zip(ys, bars, strict=True)]
                high = [b[1] - y if b else 0 for y, b in zip(ys, bars, strict=True)]
                ax.errorbar(xs, ys, yerr=[low, high], fmt="none", capsize=4, color=line.get_color())
        ax.set_xlabel("iteration (0 = start model)")
        ax.set_ylabel("score")
        _integer_axis(ax, iterations)
        title = "Evaluation per iteration"
        ax.set_title(title + (" (bars: paired 95 % CI against the start)" if changes else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        written.append(_save(fig, run_dir / "metrics.png"))
    trained = [r for r in rows if r["iteration"] > 0 and r["data"]]
    if trained:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        its = [r["iteration"] for r in trained]
        split_names = sorted({s for r in trained for s in r["data"].get("splits", {})})
        width = 0.8 / max(1, len(split_names))
        for i, name in enumerate(split_names):
            offset = (i - (len(split_names) - 1) / 2) * width
            left.bar(
                [x + offset for x in its],
                [r["data"]["splits"].get(name, 0) for r in trained],
                width,
                label=name,
            )
        left.set_title("Rows per split")
        left.set_xlabel("iteration")
        left.set_ylabel("rows")
        _integer_axis(left, its)
        left.legend(fontsize=7)
        rates = [
            ((r["data"].get("stats") or {}).get("responses") or {}).get("mean_pass_rate")
            for r in trained
        ]
        right.bar(its, [x if x is not None else 0.0 for x in rates], 0.5, label="mean pass rate")
        right.set_title("Mean verifier pass rate of sampled responses")
        right.set_xlabel("iteration")
        right.set_ylabel("pass rate")
        _integer_axis(right, its)
        right.set_ylim(0, 1)
        written.append(_save(fig, run_dir / "data.png"))
    with_loss = [r for r in rows if r["loss_history"]]
    if with_loss:
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in with_loss:
            steps = [e.get("step", i + 1) for i, e in enumerate(r["loss_history"])]
            ax.plot(
                steps, [e["loss"] for e in r["loss_history"]], label=f"iteration {r['iteration']}"
            )
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title("Training loss")
        ax.legend()
        written.append(_save(fig, run_dir / "loss.png"))
    return written


def _interval(items: list[Change], key: str) -> tuple[float, float] | None:
    """The score interval implied by a change's CI (start score + CI bounds) for a metric key."""
    match = next((c for c in items if key.endswith("/" + c.metric)), None)
    return (match.before + match.low, match.before + match.high) if match else None


def _integer_axis(ax: Any, ticks: list[int]) -> None:
    """Whole-number ticks at the given iterations, with half a step of room on each side."""
    ax.set_xticks(ticks)
    ax.set_xlim(min(ticks) - 0.5, max(ticks) + 0.5)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
