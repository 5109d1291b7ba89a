"""The package's layering, read from the source with :mod:`ast` (no import is executed).

Every ``import`` and ``from ... import`` statement counts, including the ones
inside functions: a lazy import still ties two modules together, and a cycle
hidden in a function body is a cycle a refactoring can turn into an
``ImportError`` at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "sanxian_yidan"

#: Import cycles known and tolerated for now; each is a debt, listed with the modules it spans.
#: A new cycle, or a known one that grows to more modules, fails :func:`test_no_import_cycles`.
ALLOWED_CYCLES: set[frozenset[str]] = set()

#: Modules that do analysis; a map only draws what it is given.
ANALYSIS_PREFIXES = (f"{PACKAGE}.screening", f"{PACKAGE}.rooftop", f"{PACKAGE}.brownfield", f"{PACKAGE}.mines",
                     f"{PACKAGE}.siteengine")


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """Dotted module name -> (file, package parts used to resolve relative imports)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            package = parts
        else:
            package = parts[:-1]
        found[".".join(parts)] = (path, package)
    return found


def _area(module: str) -> str:
    """The top-level part of the package a module belongs to (``brownfield`` for ``brownfield.sites``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def private_imports_across_areas() -> list[str]:
    """``from X import _name`` where X lies in another top-level module or subpackage than the importer."""
    modules = _modules()
    found = []
    for name, (path, package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                module = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith(PACKAGE) or _area(module) == _area(name):
                continue
            found += [f"{name} imports {module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def import_graph() -> dict[str, set[str]]:
    """Intra-package import graph: module -> the package modules it imports (anywhere in its body).

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module, else to ``a.b``.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in modules else module)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's strongly connected components with more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_graph_sees_relative_absolute_and_lazy_imports(graph):
    # relative, module level:     terrain/surface.py  `from .dem import Dem`
    assert "sanxian_yidan.terrain.dem" in graph["sanxian_yidan.terrain.surface"]
    # absolute, inside a function: __main__.py         `from sanxian_yidan.cli import main`
    assert "sanxian_yidan.cli" in graph["sanxian_yidan.__main__"]
    # `from .. import x` resolves to the module x:      maps/render.py imports the catalog
    assert "sanxian_yidan.catalog" in graph["sanxian_yidan.maps.render"]


def test_cycle_finder_finds_a_planted_cycle():
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(planted) == [frozenset({"a", "b", "c"})]


def test_no_import_cycles(graph):
    unexpected = [sorted(c) for c in strongly_connected(graph) if c not in ALLOWED_CYCLES]
    assert not unexpected, f"import cycles among modules: {unexpected}"


def test_core_does_not_import_the_cli(graph):
    cli = f"{PACKAGE}.cli"
    core = {m: deps for m, deps in graph.items()
            if not (m == cli or m.startswith(cli + ".") or m == f"{PACKAGE}.__main__")}
    offenders = {m: sorted(d for d in deps if d == cli or d.startswith(cli + "."))
                 for m, deps in core.items()}
    offenders = {m: d for m, d in offenders.items() if d}
    assert not offenders, f"library modules importing the command line: {offenders}"


def test_maps_import_no_analysis_module(graph):
    maps = [m for m in graph if m == f"{PACKAGE}.maps" or m.startswith(f"{PACKAGE}.maps.")]
    assert maps, "no maps modules found: the graph is wrong"
    offenders = {m: sorted(d for d in graph[m] if d.startswith(ANALYSIS_PREFIXES)) for m in maps}
    offenders = {m: d for m, d in offenders.items() if d}
    assert not offenders, f"map modules importing analysis modules: {offenders}"


def test_no_private_name_is_imported_from_another_part_of_the_package():
    # a helper another part of the package needs is a public name with a docstring (e.g.
    # provenance.truthy_flags, siteengine for brownfields and mines); private names stay within their module
    # or subpackage
    offenders = private_imports_across_areas()
    assert not offenders, f"private names used across the package: {offenders}"


def _runtime_imports(path: Path) -> list[ast.ImportFrom]:
    """``from ... import`` statements outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(block)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in typing_only]


def test_the_site_engine_stands_below_the_analyses_that_share_it():
    # brownfields and mines share the site engine; the engine imports neither at run time (it reads
    # their parameter records by attribute), and mines use only public names of brownfield
    import sanxian_yidan.brownfield as bf

    for path in sorted((SRC / PACKAGE / "siteengine").glob("*.py")):
        modules = [n.module or "" for n in _runtime_imports(path)]
        assert not [m for m in modules if m.startswith(("brownfield", "mines"))], path.name
    tree = ast.parse((SRC / PACKAGE / "mines.py").read_text(encoding="utf-8"))
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "bf"}
    imported = {a.name for n in _runtime_imports(SRC / PACKAGE / "mines.py") if n.module == "brownfield"
                for a in n.names}
    assert used and (used | imported) - {"params"} <= set(bf.__all__)
    assert "siteengine" in {n.module for n in _runtime_imports(SRC / PACKAGE / "mines.py")}
