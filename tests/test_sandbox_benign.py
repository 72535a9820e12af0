"""Benign AutoIF-style verification functions give the right results through the sandbox."""

from __future__ import annotations

import pytest

from ifplay.sandbox import Sandbox, Status

WORD_COUNT = "def evaluate(response):\n    return 5 <= len(response.split()) <= 10\n"
NO_COMMAS = "def evaluate(response):\n    return ',' not in response\n"
ALL_CAPS = "def evaluate(response):\n    return response.isupper()\n"
LOWERCASE = "def evaluate(response):\n    return response == response.lower()\n"
KEYWORDS = (
    "def evaluate(response):\n"
    "    text = response.lower()\n"
    "    return all(k in text for k in ('python', 'sandbox'))\n"
)
JSON_FORMAT = (
    "import json\n"
    "def evaluate(response):\n"
    "    try:\n"
    "        json.loads(response)\n"
    "    except ValueError:\n"
    "        return False\n"
    "    return True\n"
)
BULLETS = (
    "import re\n"
    "def evaluate(response):\n"
    "    return len(re.findall(r'^\\s*[*-] ', response, flags=re.MULTILINE)) == 3\n"
)
TITLE = (
    "import re\ndef evaluate(response):\n    return re.search(r'<<[^>]+>>', response) is not None\n"
)
ENDS_WITH = (
    "def evaluate(response):\n    return response.rstrip().endswith('Is there anything else?')\n"
)
PARAGRAPHS = (
    "def evaluate(response):\n"
    "    parts = [p for p in response.split('\\n\\n') if p.strip()]\n"
    "    return len(parts) == 2\n"
)
SENTENCES = (
    "import re\n"
    "def count(text):\n"
    "    return len([s for s in re.split(r'[.!?]+', text) if s.strip()])\n"
    "def evaluate(response):\n"
    "    return count(response) < 3\n"
)
LETTER_FREQ = (
    "from collections import Counter\n"
    "def evaluate(response):\n"
    "    return Counter(response.lower())['e'] >= 3\n"
)
QUOTED = "def evaluate(response):\n    s = response.strip()\n    return s.startswith('\"') and s.endswith('\"')\n"
PLACEHOLDERS = "import re\ndef evaluate(response):\n    return len(re.findall(r'\\[[^\\]]+\\]', response)) >= 2\n"
ASCII_ONLY = (
    "import unicodedata\n"
    "def evaluate(response):\n"
    "    return all(unicodedata.category(c)[0] != 'L' or c.isascii() for c in response)\n"
)
SLOW_OK = "import time\ndef evaluate(response):\n    time.sleep(0.2)\n    return True\n"
SCRATCH_USE = (
    "def evaluate(response):\n"
    "    with open('draft.txt', 'w') as f:\n"
    "        f.write(response)\n"
    "    with open('draft.txt') as f:\n"
    "        return f.read() == response\n"
)
PRINTS = (
    "def evaluate(response):\n    print('checking', len(response))\n    return len(response) > 2\n"
)
CLASS_STATE = (
    "class Rule:\n"
    "    limit = 3\n"
    "Rule.limit = 4\n"
    "def evaluate(response):\n"
    "    return len(response.split()) <= Rule.limit\n"
)

CASES = [
    (WORD_COUNT, "one two three four five six", True),
    (WORD_COUNT, "too short", False),
    (NO_COMMAS, "no commas here", True),
    (NO_COMMAS, "one, two", False),
    (ALL_CAPS, "THIS IS LOUD", True),
    (ALL_CAPS, "This is not", False),
    (LOWERCASE, "all lower case", True),
    (KEYWORDS, "A Python sandbox runs code.", True),
    (KEYWORDS, "Only python here.", False),
    (JSON_FORMAT, '{"answer": 42}', True),
    (JSON_FORMAT, "answer: 42", False),
    (BULLETS, "* one\n* two\n- three", True),
    (BULLETS, "* one\n* two", False),
    (TITLE, "<<My Poem>>\nRoses...", True),
    (ENDS_WITH, "Done. Is there anything else?  ", True),
    (PARAGRAPHS, "First part.\n\nSecond part.", True),
    (PARAGRAPHS, "Only one.", False),
    (SENTENCES, "One. Two.", True),
    (SENTENCES, "One. Two. Three!", False),
    (LETTER_FREQ, "eee", True),
    (QUOTED, '"wrapped in quotes"', True),
    (PLACEHOLDERS, "Dear [name], at [address].", True),
    (ASCII_ONLY, "plain text", True),
    (ASCII_ONLY, "café", False),
    (SLOW_OK, "anything", True),
    (SCRATCH_USE, "saved and read back", True),
    (PRINTS, "hello", True),
    (CLASS_STATE, "a b c d", True),
]


@pytest.fixture(scope="module")
def results():
    with Sandbox(workers=2, timeout_s=2.0) as sandbox:
        return sandbox.run_many([(source, [text]) for source, text, _ in CASES])


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("index", range(len(CASES)))
def test_benign_case(index: int, results) -> None:
    _, text, expected = CASES[index]
    (result,) = results[index]
    assert result.status is (Status.PASSED if expected else Status.FAILED), result
    assert result.value is expected
    assert result.ok and result.reason == ""


def test_output_is_captured_per_call(results) -> None:
    index = next(i for i, case in enumerate(CASES) if case[0] is PRINTS)
    assert results[index][0].output == "checking 5\n"
