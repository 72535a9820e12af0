"""purity.is_shareable: which functions may share one sandboxed process (static analysis only)."""

from __future__ import annotations

import pytest

from ifplay.sandbox import Sandbox, Status
from ifplay.sandbox.purity import is_shareable

SHAREABLE = [
    "def evaluate(response):\n    return len(response.split()) > 3\n",
    "import re\ndef evaluate(response):\n    return bool(re.search(r'\\d', response))\n",
    "import json\ndef evaluate(r):\n    try:\n        json.loads(r)\n    except ValueError:\n"
    "        return False\n    return True\n",
    "from collections import Counter\ndef evaluate(r):\n    return Counter(r)['a'] > 2\n",
    "import string\ndef evaluate(r):\n    return all(c not in string.punctuation for c in r)\n",
    "import math as m\ndef evaluate(r):\n    return m.sqrt(len(r)) > 2\n",
    "def helper(words):\n    return [w for w in words if w]\ndef evaluate(r):\n"
    "    return len(helper(r.split())) < 10\n",
    "LIMIT = 3\ndef evaluate(r):\n    global LIMIT\n    LIMIT += 1\n    return LIMIT > 0\n",
]

NOT_SHAREABLE = [
    ("import os\ndef evaluate(r):\n    return True\n", "module outside the allow-list"),
    ("from re import purge\ndef evaluate(r):\n    return True\n", "member outside the allow-list"),
    ("import builtins\ndef evaluate(r):\n    return True\n", "builtins module"),
    ("import re\nre.findall = None\ndef evaluate(r):\n    return True\n", "attribute store"),
    ("import re\nx = re\ndef evaluate(r):\n    return True\n", "module passed around"),
    ("import re\ndef evaluate(r):\n    return re._cache is None\n", "private attribute"),
    ("def evaluate(r):\n    return r.__class__ is str\n", "dunder attribute"),
    ("def evaluate(r):\n    return __builtins__ is None\n", "dunder name"),
    ("def evaluate(r):\n    return getattr(r, 'upper')() == r\n", "getattr"),
    ("def evaluate(r):\n    return eval('1') == 1\n", "eval"),
    ("def evaluate(r):\n    return open('x') is None\n", "open"),
    ("def evaluate(r):\n    return '{0.__class__}'.format(r) != ''\n", "format"),
    ("class A:\n    pass\nA.x = 1\ndef evaluate(r):\n    return True\n", "class mutation"),
    ("def evaluate(r):\n    def g():\n        yield 1\n    return g().gi_frame is None\n", "frame"),
    (
        "class A:\n    def __del__(self):\n        pass\ndef evaluate(r):\n    return True\n",
        "__del__",
    ),
    ("async def evaluate(r):\n    return True\n", "async"),
    ("def evaluate(r)\n", "syntax error"),
]


@pytest.mark.parametrize("source", SHAREABLE)
def test_plain_string_checks_may_share(source: str) -> None:
    assert is_shareable(source)


@pytest.mark.parametrize(("source", "why"), NOT_SHAREABLE, ids=[w for _, w in NOT_SHAREABLE])
def test_anything_unusual_gets_its_own_process(source: str, why: str) -> None:
    assert not is_shareable(source), why


POISON = (
    "import builtins, re\n"
    "builtins.len = lambda obj: 0\n"
    "re.findall = lambda *args, **kwargs: ['x'] * 99\n"
    "def evaluate(response):\n"
    "    return True\n"
)
VICTIM = (
    "import re\n"
    "def evaluate(response):\n"
    "    return len(response) == 5 and len(re.findall('a', response)) == 2\n"
)
HOARD = "BIG = bytearray(180 * 1024 * 1024)\ndef evaluate(response):\n    return len(BIG) > 0\n"


@pytest.mark.parametrize("share", [True, False])
def test_functions_cannot_poison_or_starve_the_next(share: bool) -> None:
    jobs = [(VICTIM, ["aabbb", "ab"])]
    jobs += [(POISON, ["x"]), (VICTIM, ["aabbb", "ab"]), (HOARD, ["x"])] * 3
    jobs += [(VICTIM, ["aabbb"])]
    with Sandbox(workers=1, memory_mb=256, share_processes=share) as sandbox:
        results = sandbox.run_many(jobs)
    for (source, _), got in zip(jobs, results, strict=True):
        if source is VICTIM:
            assert [r.value for r in got] == [True, False][: len(got)]
        else:
            assert [r.status for r in got] == [Status.PASSED]
