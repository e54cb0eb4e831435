"""What a cache key knows of the code: the modules a computation imports and the libraries it runs on.

A kind of entry names the modules that compute it (:class:`Code` roots). Its key hashes

- every ``dipole_portal`` module in the import closure of those roots (imports anywhere in a module, lazy ones
  inside functions included), minus the packages the computation does not run (``exclude``). A test oracle that no
  production module imports is never part of a key;
- each module as its syntax tree with docstrings removed: a comment, a docstring or a reformatting changes no key,
  a changed formula changes exactly the keys whose closure holds it;
- the versions of the numerical libraries the computation uses (``libraries``): a new pyhf invalidates limits,
  not samples.

>>> code = Code(("dipole_portal.core.constants",), libraries=("numpy",))
>>> "dipole_portal.core.errors" in code.modules()   # constants imports errors
True
>>> len(code.digest())
64
"""

from __future__ import annotations

import ast
import functools
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PACKAGE = "dipole_portal"


@dataclass(frozen=True)
class Code:
    """The code a kind of entry is computed by: root modules, packages left out, libraries whose version counts."""

    roots: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()

    def modules(self) -> tuple[str, ...]:
        """The ``dipole_portal`` modules of the import closure of the roots, sorted."""
        return _closure(self.roots, self.exclude)

    def digest(self) -> str:
        """SHA-256 over the modules' syntax trees (docstrings removed) and the libraries' versions."""
        return _digest(self)


def _origin(name: str) -> Path | None:
    """The source file of module ``name`` of this package, found on disk (nothing is imported); None when the
    name is not a module (an attribute imported with ``from``)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = Path(__file__).resolve().parents[1].joinpath(*name.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _run_on_import(body: list[ast.stmt]) -> list[ast.AST]:
    """The nodes a module runs when imported: not function bodies (they run when called, if ever), not
    ``if TYPE_CHECKING`` blocks."""
    out: list[ast.AST] = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.dump(stmt.test):
            out.extend(_run_on_import(stmt.orelse))
            continue
        out.append(stmt)
        for field in ("body", "orelse", "finalbody"):  # class bodies, if/for/with/try blocks
            out.extend(_run_on_import(getattr(stmt, field, [])))
        for handler in getattr(stmt, "handlers", []):  # except blocks of a try
            out.extend(_run_on_import(handler.body))
    return out


def _imported(name: str, path: Path, as_parent: bool = False) -> set[str]:
    """The ``dipole_portal`` modules that ``name`` (at ``path``) imports: anywhere in a module (its lazy imports run
    with the computation), or what a package runs on import when it is only the parent of one (``as_parent``)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_bytes())
    nodes = _run_on_import(tree.body) if as_parent else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # a submodule, where the name is one
    return {m for m in out if m == PACKAGE or m.startswith(PACKAGE + ".")}


@functools.cache
def _closure(roots: tuple[str, ...], exclude: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    parents: set[str] = set()
    todo = [(name, False) for name in roots]
    while todo:
        name, as_parent = todo.pop()
        if (
            name in seen
            or (as_parent and name in parents)
            or any(name == e or name.startswith(e + ".") for e in exclude)
        ):
            continue
        path = _origin(name)
        if path is None:  # an attribute imported with ``from``, not a module
            if name in roots:
                raise ModuleNotFoundError(f"cache key: module {name} not found")
            continue
        (parents if as_parent else seen).add(name)
        parent = name.rpartition(".")[0]
        if parent.startswith(PACKAGE):  # importing a module runs its package's __init__
            todo.append((parent, True))
        todo.extend((m, False) for m in _imported(name, path, as_parent))
    return tuple(sorted(seen | parents))


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def module_digest(name: str) -> str:
    """SHA-256 of one module's code: its syntax tree without docstrings (comments and layout are not in it)."""
    path = _origin(name)
    if path is None:
        raise ModuleNotFoundError(f"cache key: module {name} not found")
    tree = _without_docstrings(ast.parse(path.read_bytes()))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def library_version(name: str) -> str:
    """The installed version of distribution ``name`` ("absent" when it is not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def _digest(code: Code) -> str:
    h = hashlib.sha256()
    for name in code.modules():
        h.update(f"{name}\0{module_digest(name)}\0".encode())
    for lib in sorted(code.libraries):
        h.update(f"{lib}=={library_version(lib)}\0".encode())
    return h.hexdigest()
