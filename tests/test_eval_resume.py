"""An eval that resumes where it stopped: SIGKILLed after its first group of answers, or stopped on
its `--stop-after` budget, a rerun generates only the missing answers and writes exactly the
results of an uninterrupted run (greedy, the tiny random model through lighteval's transformers
backend). Answers kept for another model or other settings are not reused."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ifplay.cli import main
from ifplay.evaluation import kept_answers
from ifplay.evaluation.kept_answers import keep_folder

PROMPTS = 12  # 2 prompts a batch, 4 batches a group: groups of 8 and 4
KILL_AFTER_FIRST_GROUP = """
import os, signal, sys
from ifplay.evaluation import kept_answers
from ifplay.cli import main

note = kept_answers.AnswerBook.write_progress

def note_then_die(self, done):
    note(self, done)
    os.kill(os.getpid(), signal.SIGKILL)

kept_answers.AnswerBook.write_progress = note_then_die
main(sys.argv[1:])
"""


def eval_args(model: Path, out: Path) -> list[str]:
    return [
        "eval",
        "--model",
        str(model),
        "--engine",
        "transformers",
        "--tasks",
        "ifeval",
        "--limit",
        str(PROMPTS),
        "--max-new-tokens",
        "8",
        "--batch-size",
        "2",
        "--output",
        str(out),
    ]


def generated_counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the groups of answers generated (and kept) in this process."""
    sizes: list[int] = []
    keep = kept_answers.AnswerBook.add

    def counted(self: kept_answers.AnswerBook, keys: list[str], responses: list) -> None:
        sizes.append(len(keys))
        keep(self, keys, responses)

    monkeypatch.setattr(kept_answers.AnswerBook, "add", counted)
    return sizes


def outcome(out: Path) -> tuple[dict, list[str]]:
    results = json.loads((out / "results.json").read_text())
    rows = (out / "details" / "ifeval.jsonl").read_text().splitlines()
    return results["metrics"], [json.loads(row)["response"] for row in rows]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple:
    out = tmp_path_factory.mktemp("uninterrupted") / "eval"
    assert main(eval_args(tiny_model_dir, out)) == 0
    assert not keep_folder(out).exists()  # removed once the results are written
    return outcome(out)


def test_killed_eval_reruns_only_the_missing_answers(
    uninterrupted: tuple, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "eval"
    script = tmp_path / "kill_after_first_group.py"
    script.write_text(KILL_AFTER_FIRST_GROUP)
    done = subprocess.run(
        [sys.executable, str(script), *eval_args(tiny_model_dir, out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert not (out / "results.json").exists()
    progress = json.loads((keep_folder(out) / "progress.json").read_text())
    assert progress == {"prompts": 8, "total": PROMPTS}

    sizes = generated_counter(monkeypatch)
    assert main(eval_args(tiny_model_dir, out)) == 0
    assert sizes == [PROMPTS - 8]  # the first group was not generated again
    assert outcome(out) == uninterrupted
    assert not keep_folder(out).exists()


@pytest.mark.usefixtures("budget_spent_at_start")
def test_a_line_cut_short_by_the_kill_is_generated_again(
    uninterrupted: tuple, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "eval"
    assert main([*eval_args(tiny_model_dir, out), "--stop-after", "1s"]) == 75
    answers = keep_folder(out) / "answers.jsonl"
    answers.write_text(answers.read_text()[:100])  # the first group's line, half written

    sizes = generated_counter(monkeypatch)
    assert main(eval_args(tiny_model_dir, out)) == 0
    assert sizes == [8, 4]
    assert outcome(out) == uninterrupted


@pytest.mark.usefixtures("budget_spent_at_start")
def test_stop_after_keeps_the_answers_and_the_rerun_continues(
    uninterrupted: tuple,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / "eval"
    assert main([*eval_args(tiny_model_dir, out), "--stop-after", "1s"]) == 75
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ifplay: stopped: eval stopped on its time budget with 8/12")
    assert not (out / "results.json").exists()

    sizes = generated_counter(monkeypatch)
    assert main(eval_args(tiny_model_dir, out)) == 0
    assert sizes == [4]
    assert outcome(out) == uninterrupted


@pytest.mark.usefixtures("budget_spent_at_start")
def test_answers_of_other_settings_are_not_reused(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / "eval"
    assert main([*eval_args(tiny_model_dir, out), "--stop-after", "1s"]) == 75
    sizes = generated_counter(monkeypatch)
    args = eval_args(tiny_model_dir, out)
    args[args.index("--max-new-tokens") + 1] = "6"
    assert main(args) == 0
    assert "answers of a different eval" in capsys.readouterr().err
    assert sizes == [8, 4]
