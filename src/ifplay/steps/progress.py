"""A pass-through distilabel step that draws a progress bar for the rows flowing through it."""

from typing import Any

from distilabel.steps import Step, StepInput
from distilabel.typing import StepOutput
from pydantic import PrivateAttr


class ProgressBar(Step):
    """Counts rows as they pass and shows a tqdm bar on stderr; rows are not changed.

    Input columns: any. Output columns: the same.
    """

    total: int
    description: str = "generating"

    _bar: Any = PrivateAttr(None)

    @property
    def inputs(self) -> list[str]:
        return []

    @property
    def outputs(self) -> list[str]:
        return []

    def load(self) -> None:
        from tqdm.auto import tqdm

        super().load()
        self._bar = tqdm(total=self.total, desc=self.description, unit="row", dynamic_ncols=True)

    def unload(self) -> None:
        if self._bar is not None:
            self._bar.close()
        super().unload()

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        self._bar.update(len(inputs))
        yield inputs
