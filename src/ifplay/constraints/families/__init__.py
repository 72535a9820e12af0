"""All constraint families, one module per kind; importing this package registers them."""

from ifplay.constraints.base import register_families
from ifplay.constraints.families import (
    case,
    genre,
    keywords,
    language,
    length,
    numeric,
    punctuation,
    sentences,
    structure,
    style,
    symbols,
    template,
)

MODULES = (
    length,
    structure,
    template,
    case,
    punctuation,
    numeric,
    keywords,
    symbols,
    sentences,
    genre,
    language,
    style,
)

register_families(family for module in MODULES for family in module.FAMILIES)
