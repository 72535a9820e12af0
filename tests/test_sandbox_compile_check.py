"""check_source: syntax, a top-level `evaluate`, its signature; and it never runs the code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ifplay.sandbox import check_source
from ifplay.sandbox.compile_check import MAX_SOURCE_CHARS

OK = [
    "def evaluate(response):\n    return len(response) > 5\n",
    "import re\n\ndef evaluate(response: str) -> bool:\n    return bool(re.search('x', response))\n",
    "def evaluate(response, limit=3):\n    return len(response.split()) <= limit\n",
    "def evaluate(*args):\n    return True\n",
    "def evaluate(response, /):\n    return True\n",
    "def evaluate(response, *, strict=False):\n    return True\n",
    "def helper(x):\n    return x\n\ndef evaluate(response):\n    return helper(True)\n",
]

BAD = [
    ("def evaluate(response)\n    return True\n", "syntax error"),
    ("def evaluate(response):\nreturn True\n", "syntax error"),
    ("def check(response):\n    return True\n", "no top-level function named `evaluate`"),
    ("class C:\n    def evaluate(self, r):\n        return True\n", "no top-level function"),
    ("if True:\n    def evaluate(r):\n        return True\n", "no top-level function"),
    ("evaluate = lambda r: True\n", "no top-level function"),
    ("async def evaluate(response):\n    return True\n", "async"),
    ("def evaluate(response, instruction):\n    return True\n", "takes 2 required"),
    ("def evaluate():\n    return True\n", "takes no positional"),
    ("def evaluate(response, *, mode):\n    return True\n", "keyword-only"),
    ("return True\ndef evaluate(r):\n    return True\n", "syntax error"),
    ("def evaluate(r):\n    return (" + "(" * 1000 + "1" + ")" * 1000 + ")\n", "syntax error"),
    ("def evaluate(r):\n    nonlocal x\n    return True\n", "syntax error"),
]


@pytest.mark.parametrize("source", OK)
def test_accepts_valid_functions(source: str) -> None:
    check = check_source(source)
    assert check.ok, check.reason
    assert check.reason == ""


@pytest.mark.parametrize(("source", "reason"), BAD)
def test_rejects_with_a_reason(source: str, reason: str) -> None:
    check = check_source(source)
    assert not check.ok
    assert reason in check.reason


def test_rejects_non_str_and_oversized_sources() -> None:
    assert not check_source(b"def evaluate(r): return True").ok  # type: ignore[arg-type]
    huge = "def evaluate(r):\n    return True\n" + "#" * MAX_SOURCE_CHARS
    assert "longer than" in check_source(huge).reason


def test_never_executes_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    source = (
        "import os\n"
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "os._exit(3)\n"
        "raise SystemExit(1)\n"
        "def evaluate(response):\n"
        f"    open({str(marker)!r}, 'w').write('ran')\n"
        "    return True\n"
    )
    pid = os.getpid()
    assert check_source(source).ok
    assert not marker.exists()
    assert os.getpid() == pid  # still this process, still alive
