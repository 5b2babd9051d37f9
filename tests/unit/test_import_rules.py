"""The import rules of docs/architecture.md, read from the source with ast.

- `schemas` imports nothing of the project but itself;
- nothing under `services`, `workers` or `bot` imports `logoforge` (the command that assembles them stands above);
- `services` imports neither `workers` nor `bot`;
- `bot` imports no `workers`, and of `services` only the broker, settings, errors and the MongoDB client helper
  for its own state: never the system's repositories, object store, API, ratings or ops internals;
- `services` and `bot` never import a model library, directly or through a module they import at start-up.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("schemas", "services", "workers", "bot", "logoforge")
MODEL_LIBRARIES = ("torch", "diffusers", "transformers", "peft", "accelerate")
BOT_MAY_USE = (
    "services.errors",
    "services.messaging",
    "services.observability",  # metrics and traces, like every process
    "services.settings",
    "services.storage.errors",
    "services.storage.mongo",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path, *, start_up_only: bool = False) -> set[str]:
    """Modules `path` imports; with start_up_only, only those at module level (not inside functions or
    TYPE_CHECKING blocks), which run when the module is imported."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if start_up_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if start_up_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(ast.Module(body=child.orelse, type_ignores=[]))
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def violations(package: str, allowed) -> list[str]:
    return sorted(
        f"{name} imports {imported}"
        for name, path in modules(package).items()
        for imported in imports(path)
        if not allowed(imported)
    )


def test_schemas_import_nothing_of_the_project():
    assert violations("schemas", lambda imported: top(imported) not in PROJECT or top(imported) == "schemas") == []


@pytest.mark.parametrize("package", ["services", "workers", "bot"])
def test_nothing_below_imports_the_composition_root(package: str):
    assert violations(package, lambda imported: top(imported) != "logoforge") == []


def test_services_import_neither_workers_nor_bot():
    assert violations("services", lambda imported: top(imported) not in ("workers", "bot")) == []


def _bot_may_import(imported: str) -> bool:
    if top(imported) == "workers":
        return False
    if top(imported) == "services":
        return any(imported == allowed or imported.startswith(f"{allowed}.") for allowed in BOT_MAY_USE)
    return True


def test_bot_reaches_the_system_only_through_the_broker_and_the_api():
    assert violations("bot", _bot_may_import) == []


@cache
def _project_modules() -> dict[str, Path]:
    return {name: path for package in PROJECT for name, path in modules(package).items()}


def _start_up_closure(start: str) -> dict[str, str]:
    """Every module importing `start` loads, each with the project module that imported it first."""
    project = _project_modules()
    seen: dict[str, str] = {start: ""}
    pending = [start]
    while pending:
        current = pending.pop()
        for imported in imports(project[current], start_up_only=True):
            candidates = [imported, imported.rsplit(".", 1)[0]]
            # importing a.b.c loads a and a.b too
            parts = imported.split(".")
            candidates += [".".join(parts[:n]) for n in range(1, len(parts))]
            for candidate in candidates:
                if candidate in seen:
                    continue
                if candidate in project:
                    seen[candidate] = current
                    pending.append(candidate)
                elif top(candidate) in MODEL_LIBRARIES:
                    seen[candidate] = current
    return seen


@pytest.mark.parametrize("package", ["services", "bot"])
def test_services_and_bot_never_load_a_model_library(package: str):
    direct = violations(package, lambda imported: top(imported) not in MODEL_LIBRARIES)
    assert direct == []
    loaded = [
        f"{start} loads {name} (through {via})"
        for start in modules(package)
        for name, via in _start_up_closure(start).items()
        if top(name) in MODEL_LIBRARIES
    ]
    assert loaded == []


def test_the_rules_catch_what_they_forbid(tmp_path: Path):
    """The reader sees function-level, relative and TYPE_CHECKING imports as they are."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import services.storage.jobs\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def later():\n    from workers.generator import pipeline\n"
    )
    assert {"services.storage.jobs", "torch", "workers.generator", "workers.generator.pipeline"} <= imports(source)
    start_up = imports(source, start_up_only=True)
    assert "torch" not in start_up and "workers.generator" not in start_up
    assert not _bot_may_import("services.storage.jobs")
    assert not _bot_may_import("services.storage.s3")
    assert not _bot_may_import("workers.generator.pipeline")
    assert _bot_may_import("services.storage.mongo")
