"""Build standalone verifier source for a checker: its code, its helpers, its imports, `evaluate`.

The result runs in a sandbox worker that cannot import ifplay, so everything a checker refers to is
copied in: functions of `ifplay.constraints` as source text (recursively), modules as `import` lines,
constants as literals. Anything else is a programming error and raises TypeError at build time.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

_PACKAGE = "ifplay.constraints"


def _global_names(code: types.CodeType) -> Iterator[str]:
    """Names a code object (and the code nested in it) loads from globals or attributes."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _is_literal(value: object) -> bool:
    """True when `repr(value)` evaluates back to an equal value with ast.literal_eval."""
    try:
        return ast.literal_eval(repr(value)) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _collect(
    func: types.FunctionType,
    functions: dict[str, str],
    imports: set[str],
    constants: dict[str, str],
) -> None:
    """Add `func`'s source and everything it refers to into the three collections (DFS order)."""
    functions[func.__name__] = textwrap.dedent(inspect.getsource(func))
    namespace = func.__globals__
    for name in dict.fromkeys(_global_names(func.__code__)):
        if name not in namespace:
            continue  # a builtin or an attribute name
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            module = value.__name__
            imports.add(f"import {module}" if module == name else f"import {module} as {name}")
        elif isinstance(value, types.FunctionType) and value.__module__.startswith(_PACKAGE):
            if name in functions:
                if functions[name] != textwrap.dedent(inspect.getsource(value)):
                    raise TypeError(f"two different helpers are named {name!r}")
                continue
            _collect(value, functions, imports, constants)
        elif _is_literal(value):
            constants[name] = f"{name} = {value!r}"
        elif name in vars(builtins) and value is vars(builtins)[name]:
            continue
        else:
            raise TypeError(
                f"{func.__name__} uses {name!r} ({type(value).__name__}), which cannot be copied "
                "into a standalone verifier"
            )


@functools.cache
def checker_source(checker: Callable[..., bool]) -> str:
    """Imports, constants and function definitions a checker needs, as one source block."""
    if not isinstance(checker, types.FunctionType) or checker.__name__ == "<lambda>":
        raise TypeError(f"checker {checker!r} must be a module-level function")
    functions: dict[str, str] = {}
    imports: set[str] = set()
    constants: dict[str, str] = {}
    _collect(checker, functions, imports, constants)
    # No `from __future__` line: the sandbox may put this source after its own code.
    parts = sorted(imports)
    parts += [constants[name] for name in sorted(constants)]
    body = "\n".join(parts) + "\n\n\n" + "\n\n".join(reversed(functions.values()))
    return body


def build_verifier_source(checker: Callable[..., bool], kwargs: Mapping[str, Any]) -> str:
    """Source defining `evaluate(response) -> bool` = `checker(response, **kwargs)` for real text."""
    if not _is_literal(dict(kwargs)):
        raise TypeError(f"kwargs {kwargs!r} are not plain literals")
    return (
        checker_source(checker)
        + f"\n\n_KWARGS = {dict(kwargs)!r}\n\n\n"
        + "def evaluate(response):\n"
        + "    if not isinstance(response, str) or not response.strip():\n"
        + "        return False\n"
        + f"    return bool({checker.__name__}(response, **_KWARGS))\n"
    )
