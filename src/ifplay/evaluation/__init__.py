"""Evaluation through lighteval: IFEval, FollowBench and a general-ability guard, offline.

`run_eval(model, tasks, output_dir, ...)` is the entry point (its docstring lists the result keys);
lighteval task modules live in `ifplay/evals/` (shipped in the package). Importing this package is cheap:
lighteval is imported only when an evaluation runs.
"""

from ifplay.evaluation.runner import DEFAULT_TASKS, run_eval

__all__ = ["DEFAULT_TASKS", "run_eval"]
