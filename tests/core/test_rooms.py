"""The import rules between core's rooms (README, "Layout"), read from every import statement in core, those inside
functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
ROOMS = ("lecture", "nets", "practicum", "service")
LEAVES = ("core.geometry", "core.tables", "core.limits", "core.palette", "core.describe")  # shared by every room, import nothing of core


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from core.nets import layers`` counts as ``core.nets.layers``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(CORE.parent).with_suffix("").parts)


MODULES = {module_of(p): imports(p) for p in sorted(CORE.rglob("*.py"))}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "core" and parts[1] in ROOMS else None


def offending(allowed_rooms: set[str], of_room: str) -> list[str]:
    """``module -> import`` for each import of a core module, by a module of ``of_room``, into a room outside
    ``allowed_rooms``."""
    bad = []
    for module, found in MODULES.items():
        if room(module) != of_room:
            continue
        for target in found:
            r = room(target)
            if r is not None and r not in allowed_rooms | {of_room}:
                bad.append(f"{module} -> {target}")
    return sorted(bad)


def test_every_module_lives_in_a_room_or_is_a_shared_leaf():
    loose = [m for m in MODULES if room(m) is None and m not in LEAVES and not m.endswith("__init__")]
    assert loose == []
    assert {room(m) for m in MODULES} - {None} == set(ROOMS)


def test_core_never_imports_streamlit_the_dashboard_or_the_pages():
    bad = [f"{m} -> {t}" for m, found in MODULES.items() for t in found
           if t.split(".")[0] in {"streamlit", "dashboard", "pages"}]
    assert bad == []


def test_the_shared_leaves_import_nothing_of_core():
    assert [f"{m} -> {t}" for m in LEAVES for t in MODULES[m] if t.startswith("core")] == []


@pytest.mark.parametrize("of_room, allowed", [
    ("nets", set()),                           # the network language stands alone
    ("lecture", {"nets", "practicum"}),        # a demonstration may read a real data set; never the service
    ("practicum", {"nets"}),                   # datasets, runs, training: neither the lecture's pages nor the service
    ("service", {"nets", "practicum"}),        # the engines run the practicum's trainings
])
def test_a_room_imports_only_the_rooms_below_it(of_room, allowed):
    assert offending(allowed, of_room) == []
