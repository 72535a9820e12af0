"""Training through TRL: recipes (`recipes/*.yaml`, the files `trl sft|dpo --config` reads) run in-process.

    from ifplay.training import run_recipe
    result = run_recipe("recipes/cpu/dpo.yaml", dataset_dir="runs/q/iter-1/data/dpo", output_dir="m")

Modules: `recipe` (read + check a recipe against TRL's dataclasses), `dataset` (load + check the data),
`trainer` (build TRL's trainer), `run` (`run_recipe`, atomic output), `result` (`TrainResult`,
`train_result.json`), `resolve` (`python -m ifplay.training.resolve`: model path for plain `trl`).
"""

from ifplay.training.recipe import METHODS, Recipe, check_recipe, load_recipe
from ifplay.training.result import RESULT_FILE, TrainResult
from ifplay.training.run import run_recipe

__all__ = [
    "METHODS",
    "RESULT_FILE",
    "Recipe",
    "TrainResult",
    "check_recipe",
    "load_recipe",
    "run_recipe",
]
