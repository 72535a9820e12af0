"""Run a loop: [baseline eval] then, per iteration, generate -> train -> evaluate.

Layout: `runs/<name>/manifest.json` and `runs/<name>/iter-<k>/{data,model,eval}` (`iter-0/eval` is the
start model's baseline). A stage is skipped when the manifest says it finished with the same
configuration hash (each hash chains the previous stage's, so redoing a stage redoes what follows);
anything else, including a stage that was running when the process died, is redone from a clean folder.
"""

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ifplay import __version__
from ifplay.budget import StoppedOnBudget, check_deadline, set_deadline
from ifplay.config import ModelSpec
from ifplay.fresh_process import run_in_fresh_process
from ifplay.loop.config import (
    LaunchSpec,
    LoopConfig,
    load_loop,
    pipeline_as_run,
    resolve_relative,
)
from ifplay.loop.launch import (
    launch_command,
    launcher_text,
    resolved_launch,
    run_passing_stderr,
)
from ifplay.loop.manifest import Manifest, config_hash, file_hash
from ifplay.loop.progress import stage_progress
from ifplay.run_target import RunTarget, run_target
from ifplay.vllm_server import stop_servers


class LoopRun:
    """One loop run over its folder; `run()` executes every unfinished stage in order."""

    def __init__(
        self,
        loop_file: Path,
        force: bool = False,
        output: Path | None = None,
        target: RunTarget | None = None,
        deadline: float | None = None,
    ):
        self.loop_file = loop_file
        self.config: LoopConfig = load_loop(loop_file)
        self.target = target or RunTarget()  # where generate stages run: here, or on Ray
        self.target.check_reachable()
        self.force = force
        self.root = output or Path(self.config.output_dir or Path("runs") / self.config.name)
        base = loop_file.parent
        self.pipeline_file = resolve_relative(self.config.iteration.pipeline, base)
        self.recipe_file = resolve_relative(self.config.iteration.recipe, base)
        refiner = self.config.iteration.refiner
        self.refiner_recipe_file = resolve_relative(refiner.recipe, base) if refiner else None
        self.launch = resolved_launch(self.config.iteration.launch, base)
        self.refiner_launch = resolved_launch(refiner.launch, base) if refiner else None
        self.manifest: Manifest | None = None
        self.deadline = deadline  # time.time() after which the loop stops (`--stop-after`)
        self.stages_run = 0  # stages this process has run (not skipped)

    def run(self) -> Path:
        """Run or resume the loop; returns the run folder. Past the deadline (if any), the stage in
        progress keeps its checkpoint and `StoppedOnBudget` is raised; a rerun continues."""
        set_deadline(self.deadline)  # read by generation's chunk loop (`check_deadline`)
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest.open(
            self.root / "manifest.json",
            {
                "name": self.config.name,
                "loop_file": str(self.loop_file),
                "loop": self.config.model_dump(mode="json"),
                "ifplay_version": __version__,
            },
        )
        current = self.config.model
        refiner = self.config.model  # the refiner's iterate, when the loop trains one (SPaR)
        digest = config_hash(current, self.config.engine)
        if self.config.eval.baseline:
            self._stage(
                "iter-0/eval", config_hash(digest, self._eval_settings()), current, self._eval
            )
        for k in range(1, self.config.iterations + 1):
            folder = self.root / f"iter-{k}"
            digest = config_hash(
                digest,
                "generate",
                file_hash(self.pipeline_file),
                self.config.iteration.generate_limit,
            )
            self._stage(
                f"iter-{k}/generate", digest, current, self._generate, folder / "data", refiner
            )
            if self.refiner_recipe_file is not None:
                digest = self._training_digest(
                    digest, "train-refiner", self.refiner_recipe_file, self.refiner_launch
                )
                self._stage(
                    f"iter-{k}/train-refiner",
                    digest,
                    refiner,
                    self._train_refiner,
                    folder / "refiner",
                    k,
                )
                if (folder / "refiner" / "config.json").is_file():  # else: no data, kept as it was
                    refiner = str(folder / "refiner")
            digest = self._training_digest(digest, "train", self.recipe_file, self.launch)
            self._stage(f"iter-{k}/train", digest, current, self._train, folder / "model", k)
            current = str(folder / "model")
            self._stage(
                f"iter-{k}/eval", config_hash(digest, self._eval_settings()), current, self._eval
            )
        return self.root

    # -- stage bookkeeping -------------------------------------------------------------------

    def _stage(
        self,
        key: str,
        digest: str,
        model: str,
        action: Callable[..., dict[str, Any]],
        output: Path | None = None,
        *extra: Any,
    ) -> None:
        assert self.manifest is not None
        output = output or self.root / key
        if not self.force and self.manifest.is_done(key, digest) and output.exists():
            print(f"[{key}] done earlier, skipped")
            return
        if self.stages_run:  # every run makes progress, however short its budget
            check_deadline(f"loop stopped on its time budget before [{key}]")
        if output.exists():
            shutil.rmtree(output)  # half-written by a killed run, or redone on purpose
        self.manifest.start(key, digest, {"model": model}, {"path": str(output)})
        print(f"[{key}] running (model: {model})")
        started = time.time()
        try:
            summary = action(model, output, *extra)
        except StoppedOnBudget as stop:
            self.manifest.stop(key, stage_progress(self.root, key))
            raise StoppedOnBudget(f"[{key}] {stop}") from None
        self.manifest.finish(key, time.time() - started, summary)
        self.stages_run += 1
        print(f"[{key}] finished in {time.time() - started:.0f}s")

    def _training_digest(
        self, digest: str, stage: str, recipe_file: Path, launch: LaunchSpec | None
    ) -> str:
        """A training stage's hash: the chain so far, the recipe file, the accelerate config (when
        launched) and the iteration's settings."""
        launched = None if launch is None else file_hash(Path(launch.accelerate_config))
        iteration = self.config.iteration.model_dump(mode="json")
        return config_hash(digest, stage, file_hash(recipe_file), launched, iteration)

    def _eval_settings(self) -> dict[str, Any]:
        return self.config.eval.model_dump(mode="json")

    # -- the three stages --------------------------------------------------------------------

    def _generate(self, model: str, output: Path, refiner: str) -> dict[str, Any]:
        from ifplay.outputs import save_pipeline_output
        from ifplay.pipelines import PIPELINES, load_pipeline

        config = pipeline_as_run(self.config, load_pipeline(self.pipeline_file), model, refiner)
        started = time.time()
        try:
            with run_target(config, str(self.pipeline_file), self.target) as where:
                result = PIPELINES[config.kind].run(
                    config,
                    base_dir=self.pipeline_file.parent,
                    limit=self.config.iteration.generate_limit,
                    use_cache=True,
                )
        finally:
            stop_servers()  # a vLLM server for this iteration's model frees the CPUs for training
        save_pipeline_output(
            result, output, config, self.pipeline_file, time.time() - started, True
        )
        return {
            "splits": {name: len(ds) for name, ds in result.splits.items()},
            "stats": result.stats,
            "ran_on": where,
        }

    def _train(self, model: str, output: Path, k: int) -> dict[str, Any]:
        spec = self.config.iteration
        heldout = self.root / f"iter-{k}" / "data" / "heldout" / "data.jsonl"
        return run_in_fresh_process(
            train_stage,
            self.recipe_file,
            training_data(self.root, k, spec.split, spec.mix_previous),
            model,
            output,
            dict(spec.train_overrides),
            heldout if heldout.is_file() else None,
            self.launch,
            self.deadline,
        )

    def _train_refiner(self, model: str, output: Path, k: int) -> dict[str, Any]:
        spec = self.config.iteration.refiner
        assert spec is not None and self.refiner_recipe_file is not None
        dataset = training_data(self.root, k, spec.split, False)
        rows = dataset / "data.jsonl"
        if not rows.is_file() or not rows.read_text().strip():
            output.mkdir(parents=True)
            note = f"no rows in {dataset}: the refiner stays {model}\n"
            (output / "SKIPPED").write_text(note)
            print(f"[iter-{k}/train-refiner] {note.strip()}")
            return {"dataset": str(dataset), "rows": 0, "steps": 0, "skipped": True}
        return run_in_fresh_process(
            train_stage,
            self.refiner_recipe_file,
            dataset,
            model,
            output,
            dict(spec.train_overrides),
            None,
            self.refiner_launch,
            self.deadline,
        )

    def eval_model_spec(self, model: str) -> ModelSpec:
        """How the eval stage generates with `model`: greedy, the loop's engine, the eval settings
        (the token cap, when set; else each task's standard one, passed to `run_eval`)."""
        settings = self.config.eval
        cap = {} if settings.max_new_tokens is None else {"max_new_tokens": settings.max_new_tokens}
        return ModelSpec(
            name=model,
            engine=self.config.engine,
            temperature=0.0,
            batch_size=settings.batch_size,
            dtype=settings.dtype,
            **cap,
        )

    def _eval(self, model: str, output: Path) -> dict[str, Any]:
        from ifplay.evaluation import run_eval

        settings = self.config.eval
        result = run_in_fresh_process(
            run_eval,
            model=self.eval_model_spec(model),
            tasks=list(settings.tasks),
            output_dir=output,
            limit=settings.limit,
            max_new_tokens=settings.max_new_tokens,
            deadline=self.deadline,
        )
        return {"metrics": result.get("metrics", {})}


def train_stage(
    recipe_file: Path,
    dataset: Path,
    model: str,
    output: Path,
    overrides: dict[str, Any],
    heldout: Path | None,
    launch: LaunchSpec | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Train `model` (also the reference of a DPO recipe: TRL's default, which lets a recipe with
    `precompute_ref_log_probs` drop the reference copy) on `dataset`, in this process or through
    `launch`; add the held-out reward margin if given. A rerun resumes from the newest checkpoint;
    past `deadline` training saves one and raises `StoppedOnBudget` (in this process only: a
    launched run gets no deadline).

    Returns the stage summary: dataset, rows, steps, the key training metrics, and the launcher.
    """
    from ifplay.margins import reward_margins
    from ifplay.models import resolve_model_path
    from ifplay.training import TrainResult, run_recipe

    if launch is None:
        result = run_recipe(  # a DPO recipe's reference is TRL's default: a frozen copy of `model`
            recipe_file,
            dataset_dir=dataset,
            model=model,
            output_dir=output,
            overrides=overrides,
            force=True,
            deadline=deadline,
        )
    else:
        command = launch_command(launch, recipe_file, dataset, model, output, overrides)
        run_passing_stderr(command, f"training {output} ({launcher_text(launch)})")
        result = TrainResult.load(output)
    keep = ("train_loss", "loss", "rewards/margins", "rewards/accuracies", "train_runtime")
    metrics = {key: value for key, value in result.metrics.items() if key in keep}
    if heldout is not None:
        rows = [json.loads(line) for line in heldout.read_text().splitlines() if line.strip()]
        beta = float(result.config.get("beta", 0.1))  # the recipe's, after overrides
        metrics.update(reward_margins(str(output), resolve_model_path(model), rows, beta))
    summary = {"dataset": str(dataset), "rows": result.rows, "steps": result.steps}
    if launch is not None:
        summary["launcher"] = launcher_text(launch)
    return {**summary, "metrics": metrics}


def training_data(root: Path, k: int, split: str, mix_previous: bool) -> Path:
    """Iteration k's training folder: its own `split`, or with `mix_previous` (k > 1) a folder
    `iter-<k>/train-data` holding iteration k-1's rows followed by iteration k's."""
    current = root / f"iter-{k}" / "data" / split
    if not mix_previous or k == 1:
        return current
    mixed = root / f"iter-{k}" / "train-data"
    mixed.mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    for source in (root / f"iter-{k - 1}" / "data" / split, current):
        rows.extend(line for line in (source / "data.jsonl").read_text().splitlines() if line)
    (mixed / "data.jsonl").write_text("\n".join(rows) + "\n")
    return mixed
