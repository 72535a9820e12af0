"""Seed instruction files: AutoIF's 36 seeds, cleaning, and one-line errors naming the file."""

from pathlib import Path

import pytest

from ifplay.constraints import load_seed_instructions
from ifplay.errors import DataError

AUTOIF_SEEDS = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "autoif"
    / "seed_instruction.txt"
)


def test_autoif_seed_file() -> None:
    if not AUTOIF_SEEDS.is_file():
        pytest.skip("../shared/data/autoif/seed_instruction.txt is not present")
    seeds = load_seed_instructions(AUTOIF_SEEDS)
    assert len(seeds) == 36
    assert seeds[0] == "Answer with words that begin with the letter 'B'"
    assert seeds[-1] == "Answer with each word starting with the next letter of the alphabet"
    assert all(seed == seed.strip() and seed for seed in seeds)


def test_blank_lines_repeats_and_bom_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_text(
        "\ufeffUse no commas\r\n\n  Answer in French  \n\t\nUse no commas\nAnswer in French",
        "utf-8",
    )
    assert load_seed_instructions(str(path)) == ["Use no commas", "Answer in French"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("", "no seed instructions"),
        (" \n\t\n\n", "no seed instructions"),
        (b"\xff\xfe bad bytes", "not UTF-8"),
    ],
)
def test_unusable_files_raise_data_error(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "my seeds.txt"
    if isinstance(content, str):
        path.write_text(content, "utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        load_seed_instructions(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_is_not_a_seed_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_seed_instructions(tmp_path)
    assert str(tmp_path) in str(caught.value)
