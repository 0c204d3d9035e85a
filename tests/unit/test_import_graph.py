"""The lab's imports point one way: no module imports one that imports it back,
no top-level package does, and the layers stack as the README's Layout says
(the pure judging code at the bottom, the commands at the top).

The graph is built by grimp (what import-linter uses) from the source, imports
inside functions included: moving an import into a function hides no cycle.
"""

from __future__ import annotations

import grimp
import pytest

# Top to bottom: a layer may import the layers below it, never one above. The
# names of a set are siblings: none imports another.
LAYERS: tuple[set[str], ...] = (
    {"lab.cli"},                                             # the `lab` command
    {"lab.cli_ci", "lab.cli_docs", "lab.cli_series",          # its commands, the pytest plugin
     "lab.matrix", "lab.pytest_plugin"},
    {"lab.ci"},                                              # the workflow's plan
    {"lab.guestvm"},                                         # driving a booted guest
    {"lab.kernel_choice", "lab.preflight"},                  # a line chosen, its config read
    {"lab.cache", "lab.docs"},                               # what is fetched; documents
    {"lab.scenario"},                                        # the scenario model and reader
    {"lab.verdicts"},                                        # judging a run (pure logic)
    {"lab.doctor", "lab.settings", "lab.tree_removal", "lab.interrupts", "lab.guest_text",
     "lab.names", "lab.arches", "lab.schedule"},
    {"lab.errors"},
)
# Runs inside the guest, copied there as files: it imports nothing of the lab's
# and nothing of the lab imports it.
IN_GUEST = "lab.in_guest"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("lab", include_external_packages=False)


def cycles(graph: grimp.ImportGraph) -> list[str]:
    """Each direct import a -> b where b also reaches a, with the way back."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if nested(importer, imported):
                continue  # a package and its own module: not a cycle between two rooms
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                found.append(f"{importer} -> {' -> '.join(back)}")
    return found


def nested(one: str, other: str) -> bool:
    """The same node (a squashed package's own imports) or a package and its module."""
    return one == other or one.startswith(f"{other}.") or other.startswith(f"{one}.")


def top_level() -> grimp.ImportGraph:
    """The graph with every top-level package squashed into one node."""
    squashed = grimp.build_graph("lab", include_external_packages=False)
    for module in sorted(squashed.find_children("lab")):
        if squashed.find_children(module):
            squashed.squash_module(module)
    return squashed


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    assert cycles(graph) == []


def test_no_top_level_package_imports_itself_back() -> None:
    assert cycles(top_level()) == []


def test_every_top_level_module_has_a_layer(graph: grimp.ImportGraph) -> None:
    placed = set().union(*LAYERS) | {IN_GUEST}
    assert graph.find_children("lab") == placed


def route(way: grimp.Route) -> str:
    return " -> ".join(["|".join(sorted(way.heads)), *way.middle, "|".join(sorted(way.tails))])


def test_layers_point_down(graph: grimp.ImportGraph) -> None:
    layers = [grimp.Layer(*sorted(layer), independent=True) for layer in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers)
    shown = sorted(f"{d.importer} -> {d.imported}: {route(r)}" for d in illegal for r in d.routes)
    assert shown == []


def test_in_guest_tools_stand_alone(graph: grimp.ImportGraph) -> None:
    tools = {IN_GUEST, *graph.find_descendants(IN_GUEST)}
    outward = {(a, b) for a in tools for b in graph.find_modules_directly_imported_by(a)
               if b not in tools}
    inward = {(a, b) for b in tools for a in graph.find_modules_that_directly_import(b)
              if a not in tools}
    assert (outward, inward) == (set(), set())
