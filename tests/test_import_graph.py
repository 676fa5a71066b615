"""The package's modules import one another without circles (ARCHITECTURE.md: data flows one
way). Function-local imports count too: a circle hidden inside a function is still a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import mountcam

PACKAGE = Path(mountcam.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the mountcam modules it imports (anywhere in its body), by static reading."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pkg import mod" imports pkg.mod when it is a module.
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t in modules and t != name)
        graph[name] = deps
    return graph


def cycles_within(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    """Strongly connected groups of more than one module among those starting with prefix
    (Tarjan's algorithm)."""
    nodes = [n for n in graph if n.startswith(prefix)]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if not w.startswith(prefix):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_finds_a_circle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles_within(graph, "p.") == [["p.a", "p.b", "p.c"]]


def test_the_graph_sees_function_local_imports():
    graph = import_graph()
    # optics.imaging imports the defocus renderer inside a function (it pulls in OpenCV).
    assert "mountcam.optics.defocus" in graph["mountcam.optics.imaging"]


def test_optics_has_no_import_circles():
    # Were: aberrations <-> imaging (SensorWindow) and lens_catalogue <-> lens (lensfun).
    assert cycles_within(import_graph(), "mountcam.optics.") == []


def test_sensor_has_no_import_circles():
    assert cycles_within(import_graph(), "mountcam.sensor.") == []


def test_body_and_control_have_no_import_circles():
    # Was: body.camera <-> body.aperture (the reference frame called back into the camera).
    graph = import_graph()
    assert cycles_within(graph, "mountcam.body.") == []
    assert cycles_within(graph, "mountcam.control.") == []
