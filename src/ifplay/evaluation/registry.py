"""ifplay's eval task catalogue, and a lighteval registry that knows nothing else.

User-facing task names map onto lighteval task modules in the package's `evals/` folder
(`src/ifplay/evals/`, linked from a checkout's top-level `evals/`):

- `ifeval` -> `evals/ifeval.py` (lighteval task `ifplay_ifeval`)
- `followbench` -> `evals/followbench.py`, all six categories (`ifplay_followbench_<category>`);
  `followbench:<category>` picks one; `followbench:rules` runs only its rule-scored rows
- `sharegpt_ppl` -> `evals/sharegpt_ppl.py` (`ifplay_sharegpt_ppl`), the general-ability guard

lighteval 0.13's own `Registry` imports every built-in task module when it is created: one downloads a
file from GitHub at import time and two call a huggingface_hub API that 2.x removed. `IfplayRegistry`
builds its table from ifplay's modules only and hands lighteval tasks whose data is already loaded
(`PreloadedTask`), so no dataset download happens inside the pipeline either.
`ifplay.library_patches.installed_into_pipeline` puts it in place of `lighteval.pipeline.Registry`
while one `Pipeline` is being built.

Each `evals/` module provides `TASKS_TABLE` (lighteval configs), `load_data(config, request)` returning
`(DatasetDict, description of the source)`, and optionally `NEEDS_JUDGE` (names of configs scored by an
LLM judge), `ON_REQUEST` (names of configs that run only when named as `family:part`, never beside
other tasks of their family, e.g. a view that repeats rows of the others) and `WITHOUT_JUDGE` (the
configs the bare family name runs when no judge is given; default: those not in `NEEDS_JUDGE` or
`ON_REQUEST`).
"""

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ifplay.errors import IfplayError

TASK_PREFIX = "ifplay_"
MODULES: dict[str, str] = {
    "ifeval": "ifeval",
    "followbench": "followbench",
    "sharegpt_ppl": "sharegpt_ppl",
}
EVALS_DIR_ENV = "IFPLAY_EVALS_DIR"


PACKAGED_EVALS = Path(__file__).resolve().parents[1] / "evals"


def evals_dir() -> Path:
    """The task modules: `$IFPLAY_EVALS_DIR`, else the ones shipped inside the package
    (`ifplay/evals/`, which a checkout's top-level `evals/` links to)."""
    override = os.environ.get(EVALS_DIR_ENV)
    path = Path(override) if override else PACKAGED_EVALS
    if not path.is_dir():
        origin = f"${EVALS_DIR_ENV}" if override else "the installed ifplay package"
        raise IfplayError(f"eval task modules not found at {path} (from {origin})")
    return path


def load_module(name: str) -> ModuleType:
    """Import `evals/<name>.py` once (as `ifplay_evals.<name>`) and return it."""
    qualified = f"ifplay_evals.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    path = evals_dir() / f"{name}.py"
    if not path.is_file():
        raise IfplayError(f"eval task module {path} is missing")
    spec = importlib.util.spec_from_file_location(qualified, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[qualified]
        raise
    return module


@dataclass(frozen=True)
class SelectedTask:
    """One lighteval task to run: its config name, the user-facing key and the module serving it."""

    config_name: str
    key: str
    family: str
    module: ModuleType

    @property
    def config(self) -> Any:
        return next(c for c in self.module.TASKS_TABLE if c.name == self.config_name)

    @property
    def generative(self) -> bool:
        """True when every metric scores generated text (no log-likelihood requests)."""
        from lighteval.tasks.requests import SamplingMethod

        return all(m.category == SamplingMethod.GENERATIVE for m in self.config.metrics)


def part_of(config_name: str, family: str) -> str:
    """'ifplay_followbench_content' -> 'content'; '' for a family's only task ('ifplay_ifeval')."""
    return config_name.removeprefix(f"{TASK_PREFIX}{family}").removeprefix("_")


def metric_key(config_name: str, family: str) -> str:
    """'ifplay_followbench_content' -> 'followbench/content' (the prefix of flat metric keys).

    Sub-task names use '_' rather than lighteval's ':' on purpose: lighteval averages ':'-grouped
    sub-tasks itself and, doing so, inserts 0.0 for metrics that only some sub-tasks report.
    """
    part = part_of(config_name, family)
    return f"{family}/{part}" if part else family


def select_tasks(names: list[str], judge_available: bool) -> list[SelectedTask]:
    """Resolve user task names; unknown names and judge-less judge tasks are one-line errors."""
    if not names:
        raise IfplayError("no eval task given (choose from: " + ", ".join(MODULES) + ")")
    selected: list[SelectedTask] = []
    for raw in names:
        name = raw.strip()
        family, _, part = name.partition(":")
        if family not in MODULES:
            raise IfplayError(
                f"unknown eval task {name!r} (choose from: " + ", ".join(MODULES) + ")"
            )
        module = load_module(MODULES[family])
        needs_judge = set(getattr(module, "NEEDS_JUDGE", ()))
        on_request = set(getattr(module, "ON_REQUEST", ()))
        configs = [c.name for c in module.TASKS_TABLE]
        if part:
            wanted = f"{TASK_PREFIX}{family}_{part}"
            if wanted not in configs:
                options = ", ".join(f"{family}:{part_of(c, family)}" for c in configs)
                raise IfplayError(f"unknown eval task {name!r} (choose from: {options})")
            if wanted in needs_judge and not judge_available:
                raise IfplayError(
                    f"eval task {name!r} is scored by an LLM judge: pass --judge-model"
                )
            configs = [wanted]
        elif judge_available:
            configs = [c for c in configs if c not in on_request]
        else:
            default = [c for c in configs if c not in needs_judge | on_request]
            configs = list(getattr(module, "WITHOUT_JUDGE", default))
        for config_name in configs:
            if all(s.config_name != config_name for s in selected):
                selected.append(
                    SelectedTask(config_name, metric_key(config_name, family), family, module)
                )
    for task in selected:
        alone = set(getattr(task.module, "ON_REQUEST", ()))
        if task.config_name in alone and any(
            o.family == task.family for o in selected if o is not task
        ):
            name = f"{task.family}:{part_of(task.config_name, task.family)}"
            raise IfplayError(
                f"eval task {name!r} repeats rows of other {task.family} tasks: run it alone"
            )
    return selected


def _task_classes() -> tuple[type, type]:
    from lighteval.tasks.lighteval_task import LightevalTask
    from lighteval.tasks.registry import Registry

    class PreloadedTask(LightevalTask):
        """A lighteval task whose dataset was loaded by ifplay before the pipeline started."""

        def __init__(self, config: Any, dataset: Any) -> None:
            super().__init__(config)
            self._preloaded = dataset

        @staticmethod
        def download_dataset_worker(task: Any) -> Any:
            return task._preloaded

    class IfplayRegistry(Registry):
        """A lighteval `Registry` whose table is exactly the given configs (no built-in task import)."""

        def __init__(
            self,
            tasks: str,
            configs: dict[str, Any],
            datasets: dict[str, Any],
            generation_size: int | None = None,
        ) -> None:
            self.tasks_list = self._get_full_task_list_from_input_string(tasks)
            self._load_multilingual = False
            self._custom_tasks = None
            self._task_registry = configs
            self._datasets = datasets
            self.task_to_configs = self._update_task_configs()
            if generation_size is not None:
                for task_configs in self.task_to_configs.values():
                    for config in task_configs:
                        config.generation_size = generation_size

        def load_tasks(self) -> dict[str, Any]:
            return {
                config.full_name: PreloadedTask(config, self._datasets[config.name])
                for task_configs in self.task_to_configs.values()
                for config in task_configs
            }

    return PreloadedTask, IfplayRegistry


def registry_factory(
    selected: list[SelectedTask], datasets: dict[str, Any], generation_size: int | None
) -> Callable[..., Any]:
    """A drop-in for `lighteval.pipeline.Registry(tasks=..., ...)` serving only `selected`."""
    _, ifplay_registry = _task_classes()
    configs = {s.config_name: s.config for s in selected}

    def build(tasks: str, load_multilingual: bool = False, custom_tasks: Any = None) -> Any:
        return ifplay_registry(tasks, configs, datasets, generation_size)

    return build


def lighteval_task_string(selected: list[SelectedTask]) -> str:
    """The `task|few_shot` list lighteval's pipeline expects (all ifplay tasks are zero-shot)."""
    return ",".join(f"{s.config_name}|0" for s in selected)
