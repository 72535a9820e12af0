"""Back-translation check: describe a verified function as an instruction, drop on disagreement."""

from typing import Any, Literal

from distilabel.steps import Step, StepInput
from distilabel.typing import ChatType, StepOutput
from pydantic import Field

from ifplay.parsing import one_line_instruction
from ifplay.steps.base import DROP, GenerativeStep, is_active
from ifplay.steps.templating import render_template


def _needs_check(row: dict[str, Any]) -> bool:
    return is_active(row) and row["origin"] != "library" and bool(row["functions"])


class BackTranslate(GenerativeStep):
    """The supervisor states, in one sentence, the instruction the best verified function checks.

    Input columns: functions, origin. Output columns: backtranslation ("" when not applicable).
    """

    @property
    def inputs(self) -> list[str]:
        return ["functions", "origin"]

    @property
    def outputs(self) -> list[str]:
        return ["backtranslation"]

    def wants(self, row: dict[str, Any]) -> bool:
        return _needs_check(row)

    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002
        content = render_template("backtranslate", function=input["functions"][0].strip())
        return [{"role": "user", "content": content}]

    def parse(self, row: dict[str, Any], generations: list[str | None]) -> dict[str, Any]:
        texts = [one_line_instruction(g, min_chars=1) for g in generations]
        return {"backtranslation": next((t for t in texts if t), "")}

    def empty(self) -> dict[str, Any]:
        return {"backtranslation": ""}


class CheckBackTranslation(Step):
    """Drops an instruction whose back-translation disagrees with it.

    `method: embedding` compares the two sentences with all-MiniLM-L6-v2 and drops below `threshold`
    cosine similarity (an empty back-translation disagrees); `method: none` keeps everything.
    Input columns: instruction, backtranslation, origin, functions. Output columns:
    backtranslation_similarity, drop.
    """

    method: Literal["embedding", "none"] = "embedding"
    threshold: float = Field(0.4, ge=-1, le=1)

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "backtranslation", "origin", "functions"]

    @property
    def outputs(self) -> list[str]:
        return ["backtranslation_similarity", DROP]

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        rows = [{**row, "backtranslation_similarity": 1.0} for row in inputs]
        checked = [row for row in rows if _needs_check(row)]
        if self.method == "embedding" and checked:
            from ifplay.embeddings import cosine_matrix

            for row in checked:
                text = row["backtranslation"]
                similarity = cosine_matrix([row["instruction"]], [text])[0][0] if text else -1.0
                row["backtranslation_similarity"] = float(similarity)
                if similarity < self.threshold:
                    row[DROP] = "back-translation disagrees"
        yield rows
