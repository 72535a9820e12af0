"""`ifplay annotate push|pull` against a real Argilla 2.8 server (argilla-server + Redis + osmem).

The server is started once per session on 127.0.0.1. Annotators answer through the SDK's bulk
`records.log` (the single-response endpoints do not work on osmem), exactly as a script or a labelling
bot would; the owner's key reads the answers back, as `ifplay annotate pull` does for a user.
"""

import json
import warnings
from pathlib import Path

import pytest
from generated_data import make_generated, make_loop
from servers import ARGILLA_INSTALL, find_python, free_port, redis_binary, start_argilla

from ifplay.cli import main
from ifplay.datadir import find_generated


@pytest.fixture(scope="session")
def argilla(tmp_path_factory: pytest.TempPathFactory):
    try:
        import argilla  # noqa: F401
    except ImportError:
        pytest.skip("the Argilla SDK is not installed (pip install -e '.[argilla]')")
    python = find_python(
        "IFPLAY_ARGILLA_PYTHON", "argilla-server", "argilla_server", "osmem_server"
    )
    redis = redis_binary()
    if python is None or redis is None:
        missing = "argilla-server/osmem-server" if python is None else "redis-server"
        pytest.skip(f"{missing} is not installed (install: {ARGILLA_INSTALL})")
    server = start_argilla(python, redis, tmp_path_factory.mktemp("argilla"))
    yield server
    server.processes.stop()


@pytest.fixture(scope="session")
def owner(argilla):
    import argilla as rg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = rg.Argilla(api_url=argilla.url, api_key=argilla.api_key)
        workspace = client.workspaces("argilla")
        for name in ("ann1", "ann2"):
            user = rg.User(username=name, password="annotate-me", role="annotator", client=client)
            workspace.add_user(user.create())
    return client


@pytest.fixture
def server_env(argilla, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARGILLA_API_URL", argilla.url)
    monkeypatch.setenv("ARGILLA_API_KEY", argilla.api_key)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["annotate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def answer(owner, dataset_name: str, plan: dict[str, list[tuple[int, str, str]]]) -> list:
    """Each annotator submits (record index, 'chosen'|'rejected'|'tie'|'both_bad', comment)."""
    import argilla as rg

    dataset = owner.datasets(dataset_name, workspace="argilla")
    records = sorted(dataset.records(with_responses=True), key=lambda r: r.id)
    for username, answers in plan.items():
        user = owner.users(username)
        for index, pick, comment in answers:
            record = records[index]
            shown_as_a = record.metadata["a_is"]
            other = "rejected" if shown_as_a == "chosen" else "chosen"
            label = {shown_as_a: "a", other: "b"}.get(pick, pick)  # tie / both_bad as they are
            record.responses.add(
                rg.Response("preference", label, user_id=user.id, status="submitted")
            )
            if comment:
                record.responses.add(
                    rg.Response("comment", comment, user_id=user.id, status="submitted")
                )
        dataset.records.log([records[index] for index, _, _ in answers])
    return records


def test_push_annotate_pull_round_trip(owner, server_env, tmp_path: Path, capsys) -> None:
    loop = make_loop(tmp_path / "loop", iterations=2, pairs=6)  # 7 + 8 pairs

    code, out, err = cli(
        capsys, "push", str(loop), "--dataset", "spot", "--sample", "6", "--seed", "3"
    )
    assert code == 0, err
    assert out.startswith(
        "created Argilla dataset 'spot' in workspace 'argilla': 6 of 15 pairs "
        "(iteration 1: 3, iteration 2: 3)"
    )

    dataset = owner.datasets("spot", workspace="argilla")
    settings = dataset.settings
    assert [f.name for f in settings.fields] == ["prompt", "response_a", "response_b"]
    assert sorted(q.name for q in settings.questions) == ["comment", "preference"]
    assert sorted(settings.questions["preference"].labels) == ["a", "b", "both_bad", "tie"]
    hidden = {m.name for m in settings.metadata if not m.visible_for_annotators}
    assert {"a_is", "source", "row", "chosen_pass_rate", "rejected_pass_rate"} <= hidden
    assert {"method", "iteration", "edit_distance"}.isdisjoint(hidden)

    (first,), (second,) = (
        find_generated(loop / "iter-1" / "data"),
        find_generated(loop / "iter-2" / "data"),
    )
    data = {"iter-1/data/dpo": first.load("dpo"), "iter-2/data/dpo": second.load("dpo")}
    records = list(dataset.records(with_responses=True))
    assert len(records) == 6
    assert {r.metadata["a_is"] for r in records} == {"chosen", "rejected"}
    for record in records:
        meta = record.metadata
        row = data[meta["source"]][meta["row"]]
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        shown = (record.fields["response_a"], record.fields["response_b"])
        assert shown == ((chosen, rejected) if meta["a_is"] == "chosen" else (rejected, chosen))
        assert record.fields["prompt"] == row["prompt"][0]["content"]
        assert meta["method"] == "autoif" and meta["iteration"] == int(meta["source"][5])
        assert meta["chosen_pass_rate"] == pytest.approx(row["chosen_pass_rate"])
        assert meta["edit_distance"] > 0

    # two annotators answer; record 1 is rejected by both, record 3 is both bad, record 4 is split
    plan = {
        "ann1": [
            (0, "chosen", ""),
            (1, "rejected", "the chosen one breaks the word limit"),
            (2, "tie", ""),
            (3, "both_bad", "neither follows the format"),
            (4, "chosen", ""),
            (5, "chosen", ""),
        ],
        "ann2": [(1, "rejected", ""), (4, "rejected", "")],
    }
    answered = answer(owner, "spot", plan)

    # pushing the same sample again updates in place and keeps the answers
    code, out, _ = cli(
        capsys, "push", str(loop), "--dataset", "spot", "--sample", "6", "--seed", "3"
    )
    assert code == 0 and out.startswith("updated Argilla dataset 'spot'")
    assert len(list(dataset.records())) == 6

    filtered = tmp_path / "filtered"
    code, out, err = cli(
        capsys, "pull", str(loop), "--dataset", "spot", "--filtered", str(filtered)
    )
    assert code == 0, err
    answers_dir = loop / "annotations" / "spot"
    assert out.splitlines()[:2] == [
        f"8 answers on 6 pairs (agree 3, disagree 3, tie 1, both_bad 1) -> {answers_dir}",
        "agreement with the pipeline: 37.5% (excluding ties and both-bad: 50.0%)",
    ]
    assert "filtered: dropped 2 pairs, kept 13" in out

    rows = [json.loads(line) for line in (answers_dir / "responses.jsonl").read_text().splitlines()]
    by_record = {r.id: i for i, r in enumerate(answered)}
    got = sorted((by_record[r["record_id"]], r["user"], r["verdict"], r["comment"]) for r in rows)
    expected_verdict = {
        "chosen": "agree",
        "rejected": "disagree",
        "tie": "tie",
        "both_bad": "both_bad",
    }
    assert got == sorted(
        (index, user, expected_verdict[pick], comment)
        for user, answers in plan.items()
        for index, pick, comment in answers
    )
    summary = json.loads((answers_dir / "agreement.json").read_text())
    assert summary["records"] == 6 and summary["agreement"] == 0.375
    assert summary["decisive_agreement"] == 0.5
    assert set(summary["by_iteration"]) == {"1", "2"}

    dropped = {(answered[i].metadata["source"], answered[i].metadata["row"]) for i in (1, 3)}
    for source, original in data.items():
        (kept,) = find_generated(filtered / Path(source).parent)
        rows_left = kept.load("dpo").to_list()
        assert rows_left == [
            row for index, row in enumerate(original.to_list()) if (source, index) not in dropped
        ]
        assert (filtered / Path(source).parent / "stats.json").is_file()

    code, out, _ = cli(
        capsys,
        "pull",
        str(loop),
        "--dataset",
        "spot",
        "--filtered",
        str(filtered),
        "--drop-ties",
        "--force",
    )
    assert code == 0 and "filtered: dropped 3 pairs, kept 12" in out


def test_server_side_errors_are_one_line(owner, server_env, tmp_path: Path, capsys) -> None:
    data_dir = make_generated(tmp_path / "gen")
    assert cli(capsys, "push", str(data_dir), "--dataset", "errors")[0] == 0

    cases = [
        (["pull", str(data_dir), "--dataset", "no-such-set"], "not found in workspace 'argilla'"),
        (
            ["push", str(data_dir), "--dataset", "x", "--api-key", "wrong.key"],
            "rejected the API key",
        ),
        (
            ["push", str(data_dir), "--dataset", "x", "--workspace", "nope"],
            "workspace 'nope' not found",
        ),
    ]
    for argv, message in cases:
        code, _, err = cli(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("ifplay: error: ") and message in err, err
        assert len(err.strip().splitlines()) == 1

    # answers pulled into another folder than the one pushed from are refused, nothing written
    answer(owner, "errors", {"ann1": [(0, "chosen", "")]})
    other = make_generated(tmp_path / "other", tag="[other] ")
    code, _, err = cli(capsys, "pull", str(other), "--dataset", "errors")
    assert code == 2 and "does not match this data" in err
    assert not (other / "annotations" / "errors").exists()


def test_unreachable_server(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("argilla", reason="the Argilla SDK is not installed")
    data_dir = make_generated(tmp_path / "gen")
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ARGILLA_API_KEY", "any.key")
    code, _, err = cli(capsys, "push", str(data_dir), "--dataset", "x", "--api-url", url)
    assert code == 2
    assert err.startswith(f"ifplay: error: cannot reach Argilla at {url} (")
    assert len(err.strip().splitlines()) == 1
