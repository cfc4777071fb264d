"""Stages stand on the shared floor (types, settings, errors and failures, devices, VAD, text helpers
incl. redaction, the utterance splitter) and never borrow from each other: no module of a stage
imports another stage, package or single module, at any level (inside functions too)."""

import ast
from pathlib import Path

import callytics_ray

ROOT = Path(callytics_ray.__file__).parent
STAGE_PACKAGES = frozenset({"audio", "asr", "diarization", "punctuation", "sentiment", "llm"})
# Single-module stages, by the stage they belong to: speaker attribution is word alignment and
# then roles (roles.attribute_speakers runs both).
STAGE_MODULES = {"quality": "quality", "roles": "speakers", "alignment": "speakers"}


def _stage_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if len(parts) > 1 and parts[0] in STAGE_PACKAGES:
        return parts[0]
    if len(parts) == 1 and parts[0] in STAGE_MODULES:
        return STAGE_MODULES[parts[0]]
    return None


def _package_of(path: Path) -> str:
    """The package a relative import in `path` starts from."""
    parts = ("callytics_ray", *path.relative_to(ROOT).parts[:-1])
    return ".".join(parts)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in `source`, at any depth; `from a import b` yields a and a.b
    (b may be a submodule). Relative imports resolve against `package`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _stage_imported(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "callytics_ray":
        return None
    if parts[1] in STAGE_PACKAGES:
        return parts[1]
    return STAGE_MODULES.get(parts[1])


def test_stages_do_not_import_each_other():
    crossings: set[str] = set()
    for path in sorted(ROOT.rglob("*.py")):
        if (stage := _stage_of(path)) is None:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for line, module in imported_modules(source, _package_of(path)):
            other = _stage_imported(module)
            if other is not None and other != stage:
                where = path.relative_to(ROOT.parent)
                crossings.add(f"{where}:{line} ({stage} -> {other}): {lines[line - 1].strip()}")
    assert not crossings, "stages import each other:\n" + "\n".join(sorted(crossings))


def test_imports_inside_functions_and_relative_imports_are_seen():
    source = "def f():\n    from callytics_ray.sentiment.classifier import x\n\nfrom ..punctuation import korean\n"
    modules = {m for _, m in imported_modules(source, "callytics_ray.llm")}
    assert "callytics_ray.sentiment.classifier" in modules
    assert "callytics_ray.punctuation.korean" in modules
    assert {_stage_imported(m) for m in modules} == {"sentiment", "punctuation"}


def test_single_module_stages_count_as_stages():
    source = "from callytics_ray.roles import assign_roles\nfrom callytics_ray.text.redaction import redact_text\n"
    stages = {_stage_imported(m) for _, m in imported_modules(source, "callytics_ray.llm")}
    assert stages == {"speakers", None}
