"""ifplay: self-play data and training loops that make language models follow instructions better."""

import warnings

__version__ = "0.1.0"

# distilabel 1.5.3 declares `Field(default=None)` inside union types, which pydantic >= 2.12 reports
# on every import of distilabel's models; nothing a user can act on, so ifplay does not show it.
warnings.filterwarnings(
    "ignore", message=r"The 'default' attribute with value None was provided to the `Field\(\)`"
)
