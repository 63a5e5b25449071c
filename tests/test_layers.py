"""The layers hold: every import in the product packages (function-local and type-only ones
too, read from the source, not from what a run happens to load) points down LAYERS, never into
`bench/` or `tests/`, and no two modules import each other, however long the way round."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("visualizer", "training", "scraping", "engine_build")

# Lowest first. A module imports from its own layer or the ones before it, never after it.
LAYERS = (
    ("visualizer.core", "visualizer"),  # errors, typed config, value specs, paths, logs; the version
    ("training", "scraping"),  # the networks and their training; the art sources
    ("engine_build",),  # ONNX and TensorRT from training's networks
    ("visualizer.audio", "visualizer.render"),  # sound in, pictures out (GL): independent
    ("visualizer.mapping",),  # features -> latents, noise and shader uniforms
    ("visualizer.control", "visualizer.backends", "visualizer.settings"),  # surfaces; painters
    ("visualizer.record", "visualizer.presets", "visualizer.live_stats", "visualizer.ndi"),
    ("visualizer.app",),  # the loop
    # What plugs into a running app through its extension points: presets, OSC/MIDI/tempo,
    # the live recording, NDI in.
    ("visualizer.presets.live_presets", "visualizer.control.surfaces",
     "visualizer.record.live_recording", "visualizer.ndi.live_output", "visualizer.record.live_stream",
     "visualizer.ndi.live_input"),
    # The web remote (one more surface, beside OSC and MIDI) and studio; the job queue the
    # studio hands renders to.
    ("visualizer.web", "visualizer.jobs"),
    ("visualizer.show",),  # the one assembly
    # What plays a show: song -> video (whole or in segments), bench; the job kinds (render, grid).
    ("visualizer.offline", "visualizer.segments", "visualizer.benchmarks", "visualizer.jobs.kinds"),
    ("visualizer.commands", "visualizer.cli"),
)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT) -> Iterator[str]:
    """Every module ``path`` imports, absolute (relative imports resolved), at any depth."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from a import b` may import the module a.b: count both.
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def product_imports(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every product source file under ``root``."""
    for package in PRODUCT:
        for path in sorted((root / package).rglob("*.py")):
            for imported in imports(path, root):
                yield module_name(path, root), imported


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_walk_sees_function_local_and_relative_imports(tmp_path):
    source = tmp_path / "pkg" / "sub" / "mod.py"
    source.parent.mkdir(parents=True)
    source.write_text("import os\ndef f():\n    from bench.rigs import musicgen\n"
                      "from .. import other\nfrom .sibling import x\n")
    found = set(imports(source, tmp_path))
    assert {"os", "bench.rigs", "bench.rigs.musicgen", "pkg.other", "pkg.sub.sibling"} <= found


def test_no_product_module_imports_bench_or_tests():
    upward = [f"{importer} imports {imported}" for importer, imported in product_imports()
              if within(imported, "bench") or within(imported, "tests")]
    assert not upward, "\n".join(upward)


def test_engine_build_and_the_backends_do_not_import_each_other():
    # The backends use engine_build's ONNX names and caches; engine_build must not reach back.
    back = [f"{importer} imports {imported}" for importer, imported in product_imports()
            if within(importer, "engine_build") and within(imported, "visualizer.backends")]
    assert not back, "\n".join(back)


def test_the_core_imports_no_other_package():
    upward = [f"{importer} imports {imported}" for importer, imported in product_imports()
              if within(importer, "visualizer.core")
              and any(within(imported, p) for p in (*PRODUCT, "bench", "tests"))
              and not within(imported, "visualizer.core")]
    assert not upward, "\n".join(upward)


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the most specific package holding ``module`` (None: not product)."""
    matches = [(len(package), index) for index, layer in enumerate(LAYERS) for package in layer
               if within(module, package)]
    return max(matches)[1] if matches else None


def test_every_product_module_has_a_layer():
    modules = {importer for importer, _ in product_imports()}
    assert not [m for m in modules if layer_of(m) is None]


def test_imports_point_down_the_layers():
    upward = sorted({f"{importer} (layer {layer_of(importer)}) imports {imported} (layer "
                     f"{layer_of(imported)})" for importer, imported in product_imports()
                     if (layer_of(imported) or 0) > layer_of(importer)})
    assert not upward, "\n".join(upward)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_long_way_round():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_two_product_modules_import_each_other():
    modules = {importer for importer, _ in product_imports()}
    graph: dict[str, set[str]] = {}
    for importer, imported in product_imports():
        if imported in modules and imported != importer:
            graph.setdefault(importer, set()).add(imported)
    assert not circles(graph), "\n".join(" <-> ".join(group) for group in circles(graph))


@pytest.mark.parametrize("package", ["bench", "bench.rigs", "tests", "tests.bench"])
def test_bench_and_tests_are_not_installed(package):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(fnmatch.fnmatchcase(package, pattern) for pattern in include)
