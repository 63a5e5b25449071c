"""The layers hold: every import in the product packages (function-local ones too, read from the
source, not from what a run happens to load) points down, never into `bench/` or `tests/`."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("visualizer", "training", "scraping", "engine_build")


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


@pytest.mark.parametrize("package", ["bench", "bench.rigs", "tests", "tests.bench"])
def test_bench_and_tests_are_not_installed(package):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(fnmatch.fnmatchcase(package, pattern) for pattern in include)
