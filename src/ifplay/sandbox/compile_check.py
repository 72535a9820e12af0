"""Compile-only check of a verification function's source: it never executes the code."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

MAX_SOURCE_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class CompileCheck:
    """`ok` when the source compiles and defines `evaluate(response)`; else `reason` says why."""

    ok: bool
    reason: str = ""


def check_source(source: str) -> CompileCheck:
    """Check syntax, a top-level `def evaluate`, and that it takes one positional argument.

    Uses `ast.parse` and `compile` only: no line of `source` runs here."""
    if not isinstance(source, str):
        return CompileCheck(False, f"source must be str, not {type(source).__name__}")
    return _check(source)


def parse(source: str) -> ast.Module | CompileCheck:
    """The AST of `source`, or a failed CompileCheck saying why it does not parse (cached, shared
    with purity.py; callers must not modify the tree)."""
    return _parse(source)


@lru_cache(maxsize=4096)
def _parse(source: str) -> ast.Module | CompileCheck:
    if len(source) > MAX_SOURCE_CHARS:
        return CompileCheck(False, f"source longer than {MAX_SOURCE_CHARS} characters")
    try:
        return ast.parse(source, "<verifier>")
    except SyntaxError as exc:
        return _syntax_error(exc)
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        return CompileCheck(False, f"does not compile: {type(exc).__name__}: {exc}"[:200])


def _syntax_error(exc: SyntaxError) -> CompileCheck:
    return CompileCheck(False, f"syntax error (line {exc.lineno}): {exc.msg}")


@lru_cache(maxsize=4096)
def _check(source: str) -> CompileCheck:
    tree = _parse(source)
    if isinstance(tree, CompileCheck):
        return tree
    try:
        compile(tree, "<verifier>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _syntax_error(exc)
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        return CompileCheck(False, f"does not compile: {type(exc).__name__}: {exc}"[:200])
    function = _last_evaluate(tree)
    if function is None:
        return CompileCheck(False, "no top-level function named `evaluate`")
    if isinstance(function, ast.AsyncFunctionDef):
        return CompileCheck(False, "`evaluate` is async; it must be a plain function")
    return _check_signature(function.args)


def _last_evaluate(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The module-level `def evaluate` that wins (the last one), if any."""
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "evaluate":
            found = node
    return found


def _check_signature(args: ast.arguments) -> CompileCheck:
    """OK when `evaluate(response)` binds: one required positional parameter (or *args)."""
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    kw_required = [
        a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
    ]
    if kw_required:
        return CompileCheck(False, f"`evaluate` needs keyword-only arguments: {kw_required}")
    if required > 1:
        return CompileCheck(
            False, f"`evaluate` takes {required} required arguments; it must take 1"
        )
    if not positional and args.vararg is None:
        return CompileCheck(False, "`evaluate` takes no positional argument; it must take 1")
    return CompileCheck(True)
