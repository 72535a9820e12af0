"""Which verification functions may share one sandboxed process with other functions.

Every function runs inside the isolated worker whatever this module says. The question here is only
whether a function can be run in the same throwaway child process as other functions of one request
(fast), or needs a child of its own (a fork per function). A function may share when static analysis
of its source (ast only, nothing runs) shows it uses nothing that could leave state behind for the
next function: only allow-listed pure standard-library names, no attribute or module mutation, no
dunder or frame access, no dynamic attribute access, eval, open or imports outside the list.

Anything unusual is simply not shared: a false "no" costs speed, never safety of the host. A false
"yes" could at worst let one function influence the results of later functions in the same request,
inside the sandbox; the allow-list is kept small for that reason.
"""

from __future__ import annotations

import ast
import builtins
import importlib
from functools import lru_cache

from .compile_check import parse

# Module -> names a shareable function may use from it (None: every public name is a pure
# function, class or constant of that module).
ALLOWED_MODULES: dict[str, frozenset[str] | None] = {
    "re": frozenset(
        "compile search match fullmatch findall finditer split sub subn escape error "
        "IGNORECASE I MULTILINE M DOTALL S VERBOSE X ASCII A UNICODE U".split()
    ),
    "json": frozenset("loads dumps JSONDecodeError".split()),
    "string": frozenset(
        "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits punctuation "
        "printable whitespace capwords".split()
    ),
    "math": None,
    "itertools": None,
    "unicodedata": frozenset(
        "category name lookup normalize decimal digit numeric east_asian_width combining "
        "mirrored bidirectional decomposition is_normalized".split()
    ),
    "collections": frozenset("Counter defaultdict OrderedDict deque namedtuple".split()),
    "functools": frozenset("reduce lru_cache cache partial cmp_to_key".split()),
    "textwrap": frozenset("wrap fill dedent indent shorten".split()),
    "difflib": frozenset("SequenceMatcher get_close_matches ndiff unified_diff".split()),
    "statistics": frozenset("mean median mode stdev pstdev variance pvariance fmean".split()),
    "operator": frozenset(
        "itemgetter add sub mul truediv floordiv mod neg eq ne lt le gt ge not_ contains "
        "countOf indexOf".split()
    ),
    "datetime": frozenset("datetime date time timedelta timezone".split()),
    "fractions": frozenset({"Fraction"}),
    "heapq": frozenset("heappush heappop heapify nlargest nsmallest merge".split()),
    "bisect": frozenset("bisect bisect_left bisect_right insort insort_left insort_right".split()),
    "typing": frozenset("Any List Dict Set Tuple Optional Union Iterable Sequence".split()),
}
DENIED_BUILTINS = frozenset(
    "eval exec compile open __import__ getattr setattr delattr globals locals vars breakpoint "
    "input memoryview help exit quit copyright credits license".split()
)
DENIED_ATTRIBUTES = frozenset(
    "format format_map gi_frame gi_code cr_frame cr_code ag_frame ag_code tb_frame tb_next "
    "f_back f_globals f_locals f_builtins f_code co_code co_consts mro".split()
)
_SAFE_CONSTANT_TYPES = (str, bytes, int, float, complex, bool, frozenset, tuple, type(None))
_BUILTIN_NAMES = frozenset(dir(builtins))


def is_shareable(source: str) -> bool:
    """True when the function in `source` may share a sandboxed process with other functions."""
    return _shareable(source)


@lru_cache(maxsize=4096)
def _shareable(source: str) -> bool:
    tree = parse(source)
    if not isinstance(tree, ast.Module):
        return False
    nodes = list(ast.walk(tree))
    modules: dict[str, str] = {}  # local name -> module it is bound to
    if not all(_node_ok(node, modules) for node in nodes):
        return False
    return _module_uses_ok(nodes, modules)


def _node_ok(node: ast.AST, modules: dict[str, str]) -> bool:
    """Per-node rules; records `import x as y` bindings in `modules`."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                return False
            modules[alias.asname or alias.name] = alias.name
        return True
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module not in ALLOWED_MODULES:
            return False
        return all(_member_ok(node.module, alias.name) for alias in node.names)
    if isinstance(node, ast.Attribute):
        return (
            isinstance(node.ctx, ast.Load)
            and not node.attr.startswith("_")
            and node.attr not in DENIED_ATTRIBUTES
        )
    if isinstance(node, ast.Name):
        return not node.id.startswith("__") and node.id not in DENIED_BUILTINS
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return not any(name in _BUILTIN_NAMES for name in node.names)
    if isinstance(node, ast.FunctionDef) and node.name == "__del__":  # runs at unknown times
        return False
    return not isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith))


def _module_uses_ok(nodes: list[ast.AST], modules: dict[str, str]) -> bool:
    """Names bound to modules are only read as `module.member` with an allowed member, and are
    never rebound, stored into or passed around whole."""
    if not modules:
        return True
    as_member: set[int] = set()
    for node in nodes:
        value = getattr(node, "value", None)
        if isinstance(node, ast.Attribute) and isinstance(value, ast.Name) and value.id in modules:
            if not _member_ok(modules[value.id], node.attr):
                return False
            as_member.add(id(value))
    return all(
        id(node) in as_member for node in nodes if isinstance(node, ast.Name) and node.id in modules
    )


@lru_cache(maxsize=1024)
def _member_ok(module: str, name: str) -> bool:
    """Whether `module.name` is on the allow-list and is a function, class or immutable constant."""
    allowed = ALLOWED_MODULES.get(module, frozenset())
    if name.startswith("_") or (allowed is not None and name not in allowed):
        return False
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return callable(value) or isinstance(value, _SAFE_CONSTANT_TYPES)
