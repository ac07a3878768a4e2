"""The layout is the architecture: no import cycles, every import points down the stack, files stay
small. Built from the modules' own import statements (``ast``), TYPE_CHECKING imports included, so
a type-only import that would tie two layers together counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "plan", "policy")
#: Bottom to top. A module may import its own group and the groups before it, never one after it.
STACK = (
    ("components.versions", "components.platform", "components.kms", "components.sizing", "components.timeouts"),
    ("components.settings",),
    ("components.access_model",),
    ("components.network",),
    ("components.cluster",),
    ("components.data",),
    ("components.identity",),
    ("components.certificates",),
    ("components.mesh",),
    ("components.observability",),
    ("components.edge",),
    ("components.airflow",),
    ("components.capacity",),
)
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    files = [ROOT / "__main__.py", *(p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")))]
    return {module_name(p): p for p in files}


MODULES = project_modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> set[str]:
    """Project modules a statement imports: ``from a.b import c`` names ``a.b.c`` if that is a module,
    else ``a.b``. ``policy/__main__.py`` puts its own folder on sys.path, so ``rules`` is ``policy.rules``."""
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = importer.split(".") if is_package else importer.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
    found = set()
    for name in candidates:
        if name not in MODULES and importer.startswith("policy") and f"policy.{name}" in MODULES:
            name = f"policy.{name}"
        while name and name not in MODULES:  # ``import a.b.c`` of a module c: keep the longest project module
            name = name.rpartition(".")[0]
        if name and name != importer:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _resolve(name, is_package, node)
        graph[name] = edges
    return graph


GRAPH = import_graph()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def rank(module: str) -> int | None:
    for i, group in enumerate(STACK):
        if any(module == g or module.startswith(g + ".") for g in group):
            return i
    return None


def test_the_graph_sees_the_imports_that_matter():
    """A guard for the guard: the graph must contain known edges of every kind it resolves."""
    assert "components.settings.rules" in GRAPH["components.settings.loader"]  # from pkg import module
    assert "components.settings.stack" in GRAPH["components.access_model.build"]  # TYPE_CHECKING import
    assert "components.mesh.policy" in GRAPH["components.mesh.kuma.component"]
    assert "components.mesh" in GRAPH["__main__"]  # a package through its __init__
    assert "policy.rules.model" in GRAPH["policy.rules.aws"]  # relative import
    assert "policy.rules" in GRAPH["policy.__main__"]  # the pack's own sys.path entry
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_project_modules():
    assert cycles(GRAPH) == []


def test_every_component_module_belongs_to_one_level_of_the_stack():
    assert [m for m in MODULES if m.startswith("components.") and rank(m) is None] == []


def test_imports_point_down_the_stack():
    """settings -> access model -> network, cluster, data, identity, certificates, mesh, edge, airflow
    -> __main__.py. The tooling (plan/) may read components; components never read plan/ or policy/,
    and the policy pack imports nothing of the program (it runs on its own requirements)."""
    upward = []
    for importer, imported in sorted(GRAPH.items()):
        for target in sorted(imported):
            if importer.startswith("components"):
                if not target.startswith("components") or rank(target) > rank(importer):
                    upward.append(f"{importer} -> {target}")
            elif (importer.startswith("policy") and not target.startswith("policy")) or target == "__main__":
                upward.append(f"{importer} -> {target}")
    assert upward == []


def test_settings_do_not_depend_on_the_access_model_or_any_layer():
    """The cycle issue 11 removed: settings validate against platform constants only."""
    for name, edges in GRAPH.items():
        if name.startswith("components.settings"):
            assert {e for e in edges if e.startswith("components.") and rank(e) != 0 and rank(e) != 1} == set(), name


@pytest.mark.parametrize(
    "path", [p for n, p in MODULES.items() if n != "__main__"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_module_is_longer_than_one_sitting(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_every_layer_package_says_what_it_owns():
    for init in sorted((ROOT / "components").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 80, init.relative_to(ROOT)
