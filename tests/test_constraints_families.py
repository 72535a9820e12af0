"""Constraint families: hand-written passing and failing responses for every family, and parity of
each generated verifier (`verifier_source`) with the reference checker, in and out of process."""

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ifplay.constraints import FAMILIES, Constraint, get_family

IFEVAL_RESPONSES = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "ifeval"
    / "input_response_data_gpt4_20231107_145030.jsonl"
)

# (kwargs, responses that must pass, responses that must fail) per family.
Case = tuple[dict[str, Any], list[str], list[str]]

LOREM = " ".join(["word"] * 40)
FRENCH = (
    "Le pain se prépare avec de la farine, de l'eau, du sel et de la levure. On pétrit la pâte "
    "longtemps, puis on la laisse reposer avant de la cuire dans un four très chaud."
)
GERMAN = (
    "Brot wird aus Mehl, Wasser, Salz und Hefe gemacht. Man knetet den Teig lange und lässt ihn "
    "ruhen, bevor er in einem heißen Ofen gebacken wird."
)
ENGLISH = (
    "Bread is made from flour, water, salt and yeast. You knead the dough for a long time and "
    "let it rest before baking it in a hot oven."
)

CASES: dict[str, list[Case]] = {
    "length.min_words": [
        ({"n": 5}, ["one two three four five", "It's a well-known fact, isn't it?"], []),
        ({"n": 5}, [], ["one two three four", "... --- !!!", "un deux trois quatre — —"]),
    ],
    "length.max_words": [
        (
            {"n": 5},
            ["one two three four five", "Déjà vu."],
            ["one two three four five six", "...!"],
        ),
    ],
    "length.min_sentences": [
        (
            {"n": 3},
            ["One. Two! Three?", "First line\nSecond line\nThird line", "一。二。三。"],
            ["One. Two.", "3.5 is a number. So is 2.7", "Hi.\n\n...\n\n!!"],
        ),
    ],
    "length.max_sentences": [
        ({"n": 2}, ["Just one sentence.", "One. Two."], ["One. Two. Three.", "a\nb\nc", "?!"]),
    ],
    "length.paragraphs": [
        (
            {"n": 2},
            ["First para.\n\nSecond para.", "A\nstill A\n\n   \n\nB\n", "A\r\n\r\nB"],
            ["Only one paragraph.\nStill the same.", "A\n\nB\n\nC", "A\n\n---\n\n"],
        ),
    ],
    "length.paragraph_first_word": [
        (
            {"n": 3, "nth": 2, "word": "Next"},
            ["One.\n\nNext comes two.\n\nThree.", "One.\n\n**next**, two.\n\nThree."],
            [
                "One.\n\nThen two.\n\nThree.",
                "Next one.\n\nTwo.\n\nThree.",
                "One.\n\nNext two.",
                "One.\n\nNextly two.\n\nThree.",
            ],
        ),
    ],
    "format.json": [
        (
            {},
            [
                '{"a": 1, "b": [true, null]}',
                "  [1, 2, 3]  ",
                '```json\n{"name": "Ana"}\n```',
                '```\n["x"]\n```',
            ],
            [
                '"just a string"',
                "42",
                'Here you go: {"a": 1}',
                "{'a': 1}",
                '{"a": NaN}',
                '{"a": 1} trailing text',
                "[" * 100000,
            ],
        ),
    ],
    "format.bullets": [
        (
            {"n": 3},
            [
                "Intro:\n* one\n* two\n* three",
                "- a\n- b\n  - nested c\n\nDone.",
                "* one\n- two\n* three\n* * *\n",
            ],
            [
                "* one\n* two",
                "* one\n* two\n* three\n* four",
                "*one\n*two\n*three",
                "**bold** a\n-b\n-c",
            ],
        ),
    ],
    "format.numbered_list": [
        (
            {"n": 3},
            ["Steps:\n1. mix\n2. knead\n3. bake", "1) a\n2) b\n3) c"],
            [
                "1. a\n2. b",
                "1. a\n3. b\n4. c",
                "1. a\n2. b\n3. c\n4. d",
                "2. a\n3. b\n4. c",
                "1.a\n2.b\n3.c",
            ],
        ),
    ],
    "format.sections": [
        (
            {"splitter": "Section", "n": 2},
            [
                "Section 1\nIntro text.\nSection 2\nMore text.",
                "## SECTION 1: Start\nabc\n\n**Section 2** end",
                '"SECTION 1: quoted.\n\nSECTION 2: answer."',
            ],
            [
                "Section 1\nIntro.",
                "Section 1\nA\nSection 3\nB",
                "Section 1\nA\nSection 2\n",
                "As Section 1 says, see Section 2 below.",
                "Section 1\nA\nSection 2\nB\nSection 3\nC",
            ],
        ),
    ],
    "format.highlights": [
        (
            {"n": 2},
            ["This is *very* important and *urgent*.", "**Bold one** and *italic two*"],
            ["Only *one* here.", "* bullet\n* another bullet", "2 * 3 * 4", "* *", "***"],
        ),
    ],
    "format.headings": [
        (
            {"n": 2},
            ["# Title\ntext\n## Part\nmore", "### A\n#### B"],
            [
                "# Only one\ntext",
                "#hashtag\n#another",
                "####### too deep\n# ok",
                "text # not a heading",
            ],
        ),
    ],
    "format.divided_paragraphs": [
        (
            {"n": 3},
            ["One.\n***\nTwo.\n***\nThree.", "One.\n\n  ***  \n\nTwo.\r\n***\r\nThree."],
            [
                "One.\n***\nTwo.",
                "One. *** Two. *** Three.",
                "One.\n***\n\n***\nThree.",
                "One.\n******\nTwo.\n***\nThree.",
            ],
        ),
    ],
    "format.title": [
        (
            {},
            ["<<A Quiet Harbor>>\nThe story.", "Story first. <<Título>>"],
            [
                "<<>>\ntext",
                "<< >> text",
                "<A Title>",
                "<<Broken\ntitle>>",
                "Title without brackets",
            ],
        ),
    ],
    "format.two_responses": [
        (
            {},
            ["First answer.\n******\nSecond answer.", "A ****** B"],
            [
                "Only one answer.",
                "Same.\n******\nSame.",
                "A\n******\nB\n******\nC",
                "A\n*******\nB",
                "A\n******\n",
            ],
        ),
    ],
    "format.quoted": [
        (
            {},
            ['"Everything is quoted."', "  \u201cCurly quotes work too.\u201d \n"],
            ['"Missing end', "Not quoted", '""', '" "', '"Mixed quote\u201d', "'single quotes'"],
        ),
    ],
    "format.repeat_request": [
        (
            {"request": "Describe how bread is made at home."},
            [
                "Describe how bread is made at home. You mix flour and water.",
                "Describe  how bread\nis made at home.\n\nMix, knead, bake.",
            ],
            [
                "Sure! Describe how bread is made at home. Mix flour.",
                "Describe how bread is made at home.",
                "describe how bread is made at home. Mix flour.",
                "Describe how bread is made. Mix flour.",
            ],
        ),
    ],
    "format.start_phrase": [
        (
            {"phrase": "Let me explain."},
            ["Let me explain. It works like this.", "\n  Let me explain. Yes."],
            [
                "So, let me explain. It works.",
                "Let me explain.",
                "let me explain. It works.",
                "Let me explain",
            ],
        ),
    ],
    "format.end_phrase": [
        (
            {"phrase": "I hope this helps."},
            ["Here is the answer. I hope this helps.", "Answer.\nI hope this helps.  \n"],
            [
                "I hope this helps. Bye.",
                "I hope this helps.",
                "Answer. I hope this helps",
                "Answer. i hope this helps.",
            ],
        ),
    ],
    "format.postscript": [
        (
            {"marker": "P.S."},
            [
                "Main answer.\n\nP.S. Remember to rest.",
                "Body.\n**P.S.** extra note\nmore note",
                "Body\np.s. lowercase is fine",
            ],
            [
                "P.S. Only a postscript.",
                "Body.\nP.S.",
                "Body.\nP.P.S. Wrong marker.",
                "Body. P.S. not at a line start",
                "Body only.",
            ],
        ),
        (
            {"marker": "P.P.S."},
            ["Body.\nP.S. first\nP.P.S. second"],
            ["Body.\nP.S. first"],
        ),
    ],
    "format.answer_choice": [
        (
            {"options": ["I agree.", "I disagree.", "I cannot decide."]},
            ["I agree.", "Having read it twice: I disagree.\nThat is all."],
            ["i agree.", "I agree. Or rather I disagree.", "No option at all.", "I agree"],
        ),
    ],
    "format.placeholders": [
        (
            {"n": 2},
            ["Dear [name], see you at [address].", "[a] [b] [c]", "[１] and [日付]"],
            [
                "Only [one] here.",
                "[] and [ ]",
                "[link](http://x.y) and [other](z)",
                "[broken\nline] [x]",
            ],
        ),
    ],
    "case.lowercase": [
        (
            {},
            ["all lowercase here, 123.", "über straße", "ok 😀"],
            ["Not lowercase.", "all lower but one É", "1234 !!", "ǅemal"],
        ),
    ],
    "case.uppercase": [
        (
            {},
            ["ALL CAPS HERE, 123.", "ÜBER ÉTÉ", "A"],
            ["ALL CAPS BUT ONE e", "1234 !!", "Mixed Case", "ǅ"],
        ),
    ],
    "case.capital_words": [
        (
            {"relation": "at least", "n": 2},
            ["NASA and ESA work together.", "ÉTÉ ÇA"],
            ["Only NASA here.", "I A O", "R2D2 C3PO", "Nasa Esa"],
        ),
        (
            {"relation": "fewer than", "n": 2},
            ["Only NASA here.", "no caps at all", "I am A person"],
            ["NASA and ESA work together."],
        ),
    ],
    "punctuation.no_commas": [
        (
            {},
            ["No commas here. None at all!", "日本語の文。"],
            ["One, two.", "全角，コンマ", "読点、あり"],
        ),
    ],
    "punctuation.avoid_mark": [
        (
            {"mark": "!"},
            ["Calm text.", "Question?"],
            ["Wow!", "全角！"],
        ),
        (
            {"mark": "—"},
            ["A hyphen - is fine.", "An en dash – too."],
            ["An em dash — here.", "A bar ― here."],
        ),
    ],
    "punctuation.ellipsis_sentences": [
        (
            {},
            ["I wonder... Maybe later...", "First line...\nSecond line…", "Pi is 3.14..."],
            [
                "I wonder... Maybe later.",
                "Trailing...\nNo ellipsis here",
                "Four dots....",
                "Why...? Because...",
                "e.g. this... fails...",
                "......",
            ],
        ),
    ],
    "numeric.no_digits": [
        (
            {},
            ["Twenty-one apples and three pears.", "No numbers at all."],
            ["I have 2 cats.", "Arabic ٣ digit", "Full width ３", "Squared²"],
        ),
    ],
    "numeric.min_numbers": [
        (
            {"n": 2},
            ["We sold 1,000 units in 2023.", "3.5 and ٣"],
            ["Only 1,000,000 here.", "Two and three.", "Version 3.5"],
        ),
    ],
    "numeric.percentages": [
        (
            {"n": 2},
            ["Growth was 45% and then 3.5 %.", "12％ and 7%"],
            ["Only 45% here.", "45 percent and 50 percent", "% 45 and % 50"],
        ),
    ],
    "keywords.include": [
        (
            {"keywords": ["river", "lantern"]},
            ["The River glowed under a lantern.", "LANTERN by the river."],
            ["The river was dark.", "Rivers and lanterns.", "riverside lanterns", "river_lantern"],
        ),
    ],
    "keywords.exclude": [
        (
            {"keywords": ["very", "thing"]},
            ["Everything is fine.", "A truly good idea.", "Nothing veryfied."],
            ["It is VERY good.", "One thing.", "thing"],
        ),
    ],
    "keywords.frequency": [
        (
            {"keyword": "river", "relation": "at least", "n": 2},
            ["River, river.", "A river meets another river."],
            ["One river and two rivers.", "No water."],
        ),
        (
            {"keyword": "river", "relation": "at most", "n": 1},
            ["One river and two rivers.", "No water."],
            ["River, river."],
        ),
    ],
    "keywords.letter_frequency": [
        (
            {"letter": "e", "relation": "at least", "n": 3},
            ["Eee", "été e", "Everyone"],
            ["ee only", "xyz"],
        ),
        (
            {"letter": "z", "relation": "fewer than", "n": 2},
            ["One z only.", "No such letter."],
            ["Zebra zone", "Ẑ and z"],
        ),
    ],
    "symbols.include": [
        (
            {"symbol": "→", "n": 2},
            ["A → B → C", "→→"],
            ["A → B", "A -> B -> C"],
        ),
    ],
    "symbols.emoji": [
        (
            {"n": 2},
            ["Great day 😀 🚀", "Weather ☀ and ✅", "👍🏽👍🏿"],
            ["Only one 😀", "No emoji :)", "→ ★", "👍🏽 skin tone is one"],
        ),
    ],
    "sentences.questions": [
        (
            {"n": 2},
            ["Why? How?", "What now?? And then？", "¿Qué? ¿Cómo?"],
            ["Why?!? Really.", "No questions here.", "Just one?"],
        ),
    ],
    "sentences.no_questions": [
        (
            {},
            ["Only statements here.", "¡Hola!"],
            ["Is this a question?", "全角？"],
        ),
    ],
    "sentences.max_words": [
        (
            {"n": 5},
            ["Short one. Another short one.", "Line one here\nLine two here"],
            ["This sentence has too many words in it.", "Short. " + LOREM, "...!"],
        ),
    ],
    "genre.dialogue": [
        (
            {"speakers": ["Alex", "Sam"], "turns": 4},
            [
                "Alex: Hi.\nSam: Hello.\nAlex: How are you?\nSam: Fine.",
                "**Alex:** Hi.\n\n**Sam**: Hello.\nalex: Again.\nSAM: Yes.",
            ],
            [
                "Alex: Hi.\nSam: Hello.\nAlex: Bye.",
                "Alex: Hi.\nAlex: Hello.\nAlex: Hm.\nAlex: Bye.",
                "Alex: Hi.\nSam: Hello.\nNarrator: Later.\nAlex: Bye.\nSam: Bye.",
                "Alex: Hi.\nSam:\nAlex: Hm.\nSam: Bye.",
                "Alexander: Hi.\nSam: Hello.\nAlex: Hm.\nSam: Bye.",
            ],
        ),
    ],
    "genre.letter": [
        (
            {"recipient": "Ms. Rivera", "closing": "Kind regards"},
            [
                "Dear Ms. Rivera,\n\nThank you for your help.\n\nKind regards,\nAna",
                "**Dear Ms. Rivera**\nBody text.\nKIND REGARDS\nAna\nManager",
            ],
            [
                "Hello Ms. Rivera,\nBody.\nKind regards,\nAna",
                "Dear Mr. Okafor,\nBody.\nKind regards,\nAna",
                "Dear Ms. Rivera,\nKind regards,\nAna",
                "Dear Ms. Rivera,\nBody.\nKind regards,\nAna\nTitle\nCompany\nCity",
                "Dear Ms. Rivera,\nBody.\nBest regards,\nAna",
            ],
        ),
    ],
    "language.response": [
        (
            {"language": "fr"},
            [FRENCH, FRENCH.upper()],
            [ENGLISH, GERMAN, "12345 67890", "😀 😀"],
        ),
        (
            {"language": "de"},
            [GERMAN, GERMAN.upper()],
            [FRENCH, ENGLISH],
        ),
    ],
    "style.no_contractions": [
        (
            {},
            [
                "I do not know. It is fine.",
                "The dog's bone.",
                "At five o'clock.",
                "L'homme est là.",
            ],
            ["I don't know.", "We’re here.", "It's fine.", "THEY'LL come.", "I'd go.", "let's go"],
        ),
    ],
}

# Responses every family must reject.
BLANK_RESPONSES = ["", " ", "\n\t  \n", "\u3000"]

# Extra inputs for parity between check() and the generated verifier.
EXTRA_RESPONSES = [
    "",
    " ",
    "plain text",
    "Ünïcödé 😀 text — with, marks; and! questions?",
    "\r\n\r\nWindows\r\nline endings\r\n",
    "\x00\x1f control",
    "\ud83d lone surrogate",
    "*" * 50,
    "<<" * 20 + ">>" * 20,
    "[" * 200 + "]" * 200,
    "word " * 2000,
    "Section 1\n" * 50,
    "1. " + "\n2. ".join(["x"] * 30),
]


def _constraint(family_id: str, kwargs: dict[str, Any]) -> Constraint:
    """A constraint of `family_id` with explicit kwargs (first phrasing)."""
    return get_family(family_id).build(kwargs)


def _evaluator(constraint: Constraint) -> Any:
    """The `evaluate` function defined by the constraint's verifier source, run with plain exec."""
    namespace: dict[str, Any] = {"__name__": "verifier"}
    exec(compile(constraint.verifier_source(), "<verifier>", "exec"), namespace)
    return namespace["evaluate"]


# Pieces that random texts are assembled from: markup the checkers look for, in odd places.
FUZZ_PIECES = [*"aZ éßǅ0٣²*-#<>[]()\n\r\t.,!?…;—:'\"“%？，。😀👍🏽"]
FUZZ_PIECES += ["Section 1", "P.S.", "***", "******", "1. ", "* ", "Alex: ", "Dear ", "```json\n"]
FUZZ_PIECES += ['{"a": 1}', "don't", "river", "→", "<<", ">>", "Kind regards"]


def _fuzz_texts(count: int) -> list[str]:
    """`count` seeded random texts of 0-60 pieces."""
    rng = random.Random(1234)
    return ["".join(rng.choices(FUZZ_PIECES, k=rng.randint(0, 60))) for _ in range(count)]


def _corpus() -> list[str]:
    """Every hand-written response, edge cases, random texts, and up to 120 real IFEval responses."""
    texts = [text for cases in CASES.values() for _, good, bad in cases for text in good + bad]
    texts += EXTRA_RESPONSES + _fuzz_texts(200)
    if IFEVAL_RESPONSES.is_file():
        with IFEVAL_RESPONSES.open(encoding="utf-8") as handle:
            texts += [json.loads(line)["response"] for line in handle][:120]
    return texts


CORPUS = _corpus()


def test_every_family_has_cases() -> None:
    assert sorted(CASES) == sorted(FAMILIES)


@pytest.mark.parametrize("family_id", sorted(CASES))
def test_family_cases(family_id: str) -> None:
    for kwargs, good, bad in CASES[family_id]:
        constraint = _constraint(family_id, kwargs)
        for response in good:
            assert constraint.check(response), f"{family_id} {kwargs} should pass {response!r}"
        for response in bad:
            assert not constraint.check(response), f"{family_id} {kwargs} should fail {response!r}"


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_blank_and_non_string_responses_fail(family_id: str) -> None:
    constraint = get_family(family_id).build(rng=random.Random(1))
    evaluate = _evaluator(constraint)
    for response in [*BLANK_RESPONSES, None, 42, b"bytes"]:
        assert constraint.check(response) is False  # type: ignore[arg-type]
        assert evaluate(response) is False


def _kwargs_to_try(family_id: str) -> list[dict[str, Any]]:
    """The hand-written kwargs plus a few sampled ones, without repeats."""
    rng = random.Random(family_id)
    found = [kwargs for kwargs, _, _ in CASES.get(family_id, [])]
    found += [get_family(family_id).sample_kwargs(rng) for _ in range(4)]
    unique = {json.dumps(kwargs, sort_keys=True): kwargs for kwargs in found}
    return list(unique.values())


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_verifier_source_matches_check(family_id: str) -> None:
    corpus = CORPUS
    if (
        family_id == "language.response"
    ):  # langdetect is slow: its own cases, edge cases, a few real
        own = [text for _, good, bad in CASES[family_id] for text in good + bad]
        corpus = own + EXTRA_RESPONSES + CORPUS[-8:]
    for kwargs in _kwargs_to_try(family_id):
        constraint = _constraint(family_id, kwargs)
        source = constraint.verifier_source()
        assert "ifplay" not in source
        evaluate = _evaluator(constraint)
        for response in corpus:
            expected = constraint.check(response)
            assert isinstance(expected, bool)
            assert evaluate(response) is expected, f"{family_id} {kwargs} differ on {response!r}"


_ISOLATED_RUNNER = """
import importlib.abc, json, sys

class _NoIfplay(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "ifplay":
            raise ImportError("ifplay is not importable in the sandbox")
        return None

sys.meta_path.insert(0, _NoIfplay())
jobs = json.load(sys.stdin)
results = []
for job in jobs:
    namespace = {"__name__": "verifier"}
    exec(job["source"], namespace)
    results.append([namespace["evaluate"](text) for text in job["responses"]])
json.dump(results, sys.stdout)
"""


def test_verifier_sources_run_without_ifplay() -> None:
    """Every family's source runs in a fresh interpreter (-I, ifplay blocked) with the same results."""
    jobs, expected = [], []
    for family_id in sorted(FAMILIES):
        constraint = get_family(family_id).build(rng=random.Random(7))
        responses = [text for _, good, bad in CASES[family_id] for text in good + bad]
        jobs.append({"source": constraint.verifier_source(), "responses": responses})
        expected.append([constraint.check(text) for text in responses])
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _ISOLATED_RUNNER],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == expected
