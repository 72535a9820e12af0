"""Malformed declarations: one line naming the file and field, exit code 2, nothing written."""

import json
from pathlib import Path

import pytest

from ifplay.cli import main

GOOD_MODEL = "model:\n  name: smollm2-135m-instruct\n"


def _prompts(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


CASES = [
    # (id, yaml text (None = no file), expected fragment of the error line)
    (
        "unknown-top-key",
        "kind: generate\nname: x\ndata: {path: DATA}\ncolour: red\n",
        "colour: unknown key",
    ),
    (
        "unknown-model-key",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {nme: m}\n",
        "model.nme: unknown key",
    ),
    (
        "wrong-type",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {max_new_tokens: many}\n",
        "model.max_new_tokens: Input should be a valid integer",
    ),
    (
        "negative-temperature",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {temperature: -0.5}\n",
        "model.temperature: Input should be greater than or equal to 0",
    ),
    (
        "bad-engine",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {engine: tensorrt}\n",
        "model.engine: Input should be",
    ),
    (
        "top-p-zero",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {top_p: 0}\n",
        "model.top_p: Input should be greater than 0",
    ),
    (
        "n-zero",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {n: 0}\n",
        "model.n: Input should be greater than or equal to 1",
    ),
    ("missing-data", "kind: generate\nname: x\n", "data: required key is missing"),
    ("bad-kind", "kind: teleport\nname: x\ndata: {path: DATA}\n", "kind: must be one of"),
    (
        "bad-name",
        "kind: generate\nname: 'has space'\ndata: {path: DATA}\n",
        "name: String should match pattern",
    ),
    ("not-a-mapping", "- just\n- a list\n", "expected a mapping at the top level"),
    ("invalid-yaml", "kind: generate\nname: [unclosed\n", "invalid YAML"),
    ("missing-config-file", None, "no such file"),
    (
        "missing-data-file",
        "kind: generate\nname: x\ndata: {path: ./absent.jsonl}\n",
        "absent.jsonl: no such file or folder",
    ),
    ("empty-prompt-list", "kind: generate\nname: x\ndata: {path: EMPTY}\n", "dataset has no rows"),
    (
        "missing-prompt-column",
        "kind: generate\nname: x\ndata: {path: DATA, prompt_column: question}\n",
        "column 'question' not found",
    ),
    (
        "blank-prompt-row",
        "kind: generate\nname: x\ndata: {path: BLANK}\n",
        "row 1: column 'prompt' is empty",
    ),
    (
        "blank-model-name",
        "kind: generate\nname: x\ndata: {path: DATA}\nmodel: {name: '  '}\n",
        "model.name: must not be blank",
    ),
    (
        "limit-zero",
        "kind: generate\nname: x\ndata: {path: DATA, limit: 0}\n",
        "data.limit: Input should be greater than or equal to 1",
    ),
    # The model being trained is `model` in every declaration; the old role names say so.
    ("autoif-policy", "kind: autoif\nname: x\npolicy: {n: 2}\n", "policy: renamed to 'model'"),
    ("spar-actor", "kind: spar\nname: x\nactor: {n: 2}\n", "actor: renamed to 'model'"),
]


@pytest.mark.parametrize("case_id,text,fragment", CASES, ids=[c[0] for c in CASES])
def test_malformed_config_is_one_line_exit_2_nothing_written(
    case_id: str, text: str | None, fragment: str, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    data = _prompts(tmp_path, [{"prompt": "Say hi."}, {"prompt": "Say bye."}])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    blank = tmp_path / "blank.jsonl"
    blank.write_text(json.dumps({"prompt": "ok"}) + "\n" + json.dumps({"prompt": "  "}) + "\n")
    config = tmp_path / "pipeline.yaml"
    if text is not None:
        text = (
            text.replace("EMPTY", str(empty))
            .replace("BLANK", str(blank))
            .replace("DATA", str(data))
        )
        config.write_text(text)
    output = tmp_path / "out"

    code = main(["generate", str(config), "--output", str(output)])

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, err
    assert lines[0].startswith("ifplay: error: ")
    assert fragment in lines[0]
    if case_id not in {
        "missing-data-file",
        "empty-prompt-list",
        "missing-prompt-column",
        "blank-prompt-row",
    }:
        assert str(config) in lines[0]
    assert "Traceback" not in err
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_limit_flag_must_be_positive(tmp_path: Path, capsys):
    code = main(
        [
            "generate",
            "pipelines/generate-example.yaml",
            "--limit",
            "0",
            "--output",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "--limit: must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_existing_output_is_kept_without_force(tmp_path: Path, capsys, repo_root: Path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    code = main(
        ["generate", str(repo_root / "pipelines/generate-example.yaml"), "--output", str(output)]
    )
    assert code == 2
    assert "already exists" in capsys.readouterr().err
    assert (output / "keep.txt").read_text() == "mine"
