"""The apps depend on each other in one direction, and no module imports itself back.

LAYERS is the one declaration of that direction (docs/decisions.md, "Layout and dependency
direction", says why). A module may import its own layer and the layers below it, never one
above. Every import counts, also one inside a function (it runs, later, all the same); only
imports under `if TYPE_CHECKING:` are left out, since they never run. Migrations are left
out: they are frozen history, and import only what their app had when they were written.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Top first. The project's wiring (settings, URLs, WSGI/ASGI, middleware, the staff site, the
# deploy checks) may import every app; the queue builds on the condition pages and the
# practice; the condition pages on the practice; the practice app on none of them.
LAYERS = ["clinic.project", "appointments", "conditions", "clinic"]
PACKAGES = sorted({layer.split(".")[0] for layer in LAYERS})


def app_sources():
    """{module name: source} of every module of the apps, migrations left out."""
    sources = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            sources[name] = path.read_text(encoding="utf-8")
    return sources


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(node):
    """Every node under `node`, the bodies of `if TYPE_CHECKING:` left out."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _nodes(other)
            continue
        yield child
        yield from _nodes(child)


def import_graph(sources):
    """{module: {imported module: line}} between the given modules."""
    graph = {}
    for module, source in sources.items():
        package = module if source_is_package(module, sources) else module.rpartition(".")[0]
        edges = graph.setdefault(module, {})
        for node in _nodes(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(filter(None, [*anchor, base]))
                # `from clinic import pagecache` imports the module clinic.pagecache.
                names = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in sources else base
                    for alias in node.names
                ]
            else:
                continue
            for name in names:
                target = _known_module(name, sources)
                if target and target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def source_is_package(module, sources):
    return any(other.startswith(module + ".") for other in sources)


def _known_module(name, sources):
    """The module `name` is in (clinic.models.Practice is in clinic.models), if one of ours."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in sources:
            return candidate
    return None


def layer_of(module):
    """The index in LAYERS of the module's layer: the longest layer name it starts with."""
    matches = [
        index
        for index, layer in enumerate(LAYERS)
        if module == layer or module.startswith(layer + ".")
    ]
    return max(matches, key=lambda index: len(LAYERS[index]))


def upward_imports(graph):
    """Each import of a higher layer, as "importer:line imports target (layer > layer)"."""
    return sorted(
        f"{module}:{line} imports {target} ({LAYERS[layer_of(module)]} may not import "
        f"{LAYERS[layer_of(target)]})"
        for module, edges in graph.items()
        for target, line in edges.items()
        if layer_of(target) < layer_of(module)
    )


def cycles(graph):
    """One cycle, as a list of modules from one back to itself, per group of modules that
    import each other (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group, graph):
    """A path from the group's first module back to itself, through the group only."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in sorted(graph.get(module, {})):
            if target == start:
                return [*paths[module], start]
            if target in group and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"no cycle found in {sorted(group)}")


def test_no_app_imports_a_layer_above_it():
    upward = upward_imports(import_graph(app_sources()))
    assert not upward, (
        "Imports against the direction " + " -> ".join(LAYERS) + ":\n" + "\n".join(upward)
    )


def test_no_module_imports_itself_back():
    found = cycles(import_graph(app_sources()))
    assert not found, "Import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_every_module_of_the_apps_is_read():
    graph = import_graph(app_sources())
    # The models of every app, the project's settings, a management command, a template tag
    # library and the fax package: a module left unread would hide its imports.
    for module in (
        "clinic.models",
        "conditions.models",
        "appointments.models",
        "clinic.project.settings",
        "conditions.management.commands.import_content",
        "clinic.templatetags.clinic_tags",
        "appointments.faxes.intake",
    ):
        assert module in graph, module
    assert "clinic.models" in graph["appointments.models"]
    assert "clinic.pagecache" in graph["conditions.models"]


SAMPLE = {
    "clinic": "",
    "clinic.models": "import datetime\n",
    "clinic.project": "",
    "clinic.project.urls": "from appointments import views\n",
    "conditions": "",
    "conditions.models": "from clinic.models import *\n",
    "appointments": "",
    "appointments.views": "from conditions.models import Condition\n",
}


def test_an_upward_import_inside_a_function_is_found():
    sources = {
        **SAMPLE,
        "clinic.models": "def f():\n    from conditions.models import Condition\n",
    }
    assert upward_imports(import_graph(sources)) == [
        "clinic.models:2 imports conditions.models (clinic may not import conditions)"
    ]


def test_an_import_of_the_project_from_an_app_is_found():
    sources = {**SAMPLE, "appointments.views": "from clinic.project import urls\n"}
    assert upward_imports(import_graph(sources)) == [
        "appointments.views:1 imports clinic.project.urls "
        "(appointments may not import clinic.project)"
    ]


def test_imports_for_type_checkers_only_are_left_out():
    sources = {
        **SAMPLE,
        "clinic.models": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from conditions.models import Condition\n"
            "else:\n"
            "    import datetime\n"
        ),
    }
    assert upward_imports(import_graph(sources)) == []


def test_a_cycle_within_a_layer_is_found():
    sources = {
        **SAMPLE,
        "clinic.pagecache": "def f():\n    from clinic.models import SiteInfo\n",
        "clinic.models": "from clinic import pagecache\n",
    }
    assert upward_imports(import_graph(sources)) == []
    assert cycles(import_graph(sources)) == [["clinic.models", "clinic.pagecache", "clinic.models"]]


def test_a_relative_import_is_resolved():
    sources = {**SAMPLE, "clinic.models": "from .project import urls\n"}
    assert upward_imports(import_graph(sources)) == [
        "clinic.models:1 imports clinic.project.urls (clinic may not import clinic.project)"
    ]
