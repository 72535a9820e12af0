"""Attack corpus: every model-written attack in tests/sandbox_attacks is contained by a full-strength
Sandbox, reported with the right status, leaves the host and planted files alone, and the pool keeps
serving."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ifplay.sandbox import Sandbox, Status
from ifplay.sandbox.doctor import Listener

ATTACK_DIR = Path(__file__).parent / "sandbox_attacks"
RESPONSE = "Here is my answer: the quick brown fox jumps over the lazy dog. TOKEN"
BENIGN = "def evaluate(response):\n    return response.startswith('Here')\n"
ENV_SECRET = "IFPLAY_SANDBOX_TEST_SECRET"


@dataclass(frozen=True)
class Attack:
    """One corpus file: its source and the header lines `# expect:` and `# reason:`."""

    name: str
    source: str
    expect: frozenset[Status]
    reason: str

    @classmethod
    def load(cls, path: Path) -> Attack:
        header = {}
        for line in path.read_text().splitlines():
            if line.startswith("# ") and ":" in line:
                key, value = line[2:].split(":", 1)
                header[key.strip()] = value.strip()
        expect = frozenset(Status(s) for s in header["expect"].split("|"))
        return cls(path.stem, path.read_text(), expect, header.get("reason", ""))


ATTACKS = [Attack.load(p) for p in sorted(ATTACK_DIR.glob("*.py"))]


@dataclass
class Arena:
    """What the attacks aim at: planted files, a listener, the host pid and an env secret."""

    folder: Path
    secret: Path
    victim: Path
    listener: Listener
    digest_before: dict[str, str]

    def substitute(self, source: str) -> str:
        return (
            source.replace("__SECRET__", str(self.secret))
            .replace("__VICTIM_DIR__", str(self.folder))
            .replace("__VICTIM__", str(self.victim))
            .replace("__PORT__", str(self.listener.port))
            .replace("__HOST_PID__", str(os.getpid()))
        )

    def digest(self) -> dict[str, str]:
        return {
            str(p.relative_to(self.folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.folder.rglob("*"))
            if p.is_file()
        }


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("planted")
    secret = folder / "secret.txt"
    secret.write_text("TOKEN-3f9a do not leak\n")
    victim = folder / "victim.txt"
    victim.write_text("original content\n")
    (folder / "nested").mkdir()
    (folder / "nested" / "keep.txt").write_text("keep me\n")
    listener = Listener()
    arena = Arena(folder, secret, victim, listener, {})
    arena.digest_before = arena.digest()
    yield arena
    listener.close()


@pytest.fixture(scope="module")
def outcomes(arena: Arena):
    """Run every attack, each followed by a benign job, through one pool; results by name."""
    os.environ[ENV_SECRET] = "TOKEN-env-3f9a"
    try:
        with Sandbox(workers=2, timeout_s=1.0, memory_mb=256) as sandbox:
            jobs = []
            for attack in ATTACKS:
                jobs += [(arena.substitute(attack.source), [RESPONSE]), (BENIGN, [RESPONSE, "x"])]
            results = sandbox.run_many(jobs)
            after = sandbox.run(BENIGN, [RESPONSE, "no"] * 8)
    finally:
        del os.environ[ENV_SECRET]
    by_name = {a.name: results[2 * i][0] for i, a in enumerate(ATTACKS)}
    followers = [results[2 * i + 1] for i in range(len(ATTACKS))]
    return by_name, followers, after


def test_corpus_has_enough_distinct_attacks() -> None:
    assert len(ATTACKS) >= 25
    assert len({a.source for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained_with_the_right_status(attack: Attack, outcomes) -> None:
    result = outcomes[0][attack.name]
    assert result.status in attack.expect, f"{attack.name}: {result}"
    assert attack.reason.lower() in result.reason.lower(), f"{attack.name}: {result}"
    if result.status is Status.PASSED:
        assert result.value is True


def test_listener_received_no_byte(outcomes, arena: Arena) -> None:
    assert arena.listener.connections == 0
    assert arena.listener.bytes == 0


def test_planted_files_are_untouched(outcomes, arena: Arena) -> None:
    assert arena.digest() == arena.digest_before
    assert not list(arena.folder.parent.glob("*.pwned")) and not list(arena.folder.glob("*.pwned"))


def test_pool_serves_after_every_attack(outcomes) -> None:
    _, followers, after = outcomes
    for results in followers:
        assert [r.status for r in results] == [Status.PASSED, Status.FAILED]
    assert [r.value for r in after] == [True, False] * 8


def test_huge_output_is_captured_and_capped(arena: Arena, capfd: pytest.CaptureFixture) -> None:
    source = (ATTACK_DIR / "huge_stdout.py").read_text()
    with Sandbox(workers=1, timeout_s=5.0) as sandbox:
        (result,) = sandbox.run(source, [RESPONSE])
    out, err = capfd.readouterr()
    assert result.status is Status.PASSED
    assert 0 < len(result.output) <= 1000 and set(result.output) == {"A", "\n"} - {"\n"} | {"A"}
    assert "AAAA" not in out and "BBBB" not in err and "CCCC" not in out
