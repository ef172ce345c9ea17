"""No import runs back up the layers: each module of service/ imports only modules of its
own layer or below (imports under TYPE_CHECKING are types, not dependencies)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"

# Lowest first. A module's layer is the first pattern that matches its dotted name.
LAYERS = [
    ("foundation", ("service.errors", "service.resources", "service.config", "service.json_provider", "service.models",
                    "service.crypto", "service.components", "service.extensions", "service.db",
                    "service.validation", "service.request_log", "service.shared_redis")),
    ("upstream", ("service.immich.url_policy", "service.immich.client")),
    ("domain", ("service.auth.", "service.immich.settings", "service.immich.connection_check")),
    ("photos", ("service.photos.", "service.library.", "service.tracks.", "service.trips.")),
    ("shares", ("service.shares.",)),
    ("views", ("service.auth.views", "service.auth.sign_in_views",
               "service.immich.views", "service.photos.views", "service.library.views",
               "service.shares.views", "service.tracks.views", "service.trips.views",
               "service.web",
               "service.health", "service.openapi", "service.doctor", "service.cli")),
    ("factory", ("service",)),
]


def layer_of(module: str) -> int:
    # Most specific pattern wins, so service.auth.views is a view, not the auth domain.
    best, rank = -1, -1
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if module == pattern or (pattern.endswith(".") and module.startswith(pattern)) or \
                    module.startswith(pattern + "."):
                if len(pattern) > best:
                    best, rank = len(pattern), index
    assert rank >= 0, f"{module} has no layer"
    return rank


def module_name(path: Path) -> str:
    parts = path.relative_to(SERVICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.Module) -> list[str]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from service.auth import accounts` depends on service.auth.accounts.
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                is_module = (SERVICE.parent / (submodule.replace(".", "/") + ".py")).exists()
                found.append(submodule if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "service" or name.startswith("service.")]


def test_no_import_runs_back_up_the_layers():
    upward = []
    for path in sorted(SERVICE.rglob("*.py")):
        importer = module_name(path)
        for imported in runtime_imports(ast.parse(path.read_text())):
            if layer_of(imported) > layer_of(importer):
                upward.append(f"{importer} ({LAYERS[layer_of(importer)][0]}) imports "
                              f"{imported} ({LAYERS[layer_of(imported)][0]})")
    assert upward == []


def test_the_error_module_imports_no_feature_module():
    tree = ast.parse((SERVICE / "errors.py").read_text())
    assert runtime_imports(tree) == []


def test_a_view_that_imports_a_lower_layer_passes_and_an_upward_import_is_caught():
    assert layer_of("service.photos.views") > layer_of("service.photos.photo_service")
    assert layer_of("service.errors") < layer_of("service.immich.client") < layer_of("service.auth.tokens")
