"""Architecture rules that must hold for the whole code base."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_PACKAGES = ("sessions", "consent", "publish")
FORBIDDEN = ("typer", "rich", "click", "podcast.cli")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_domain_packages_never_import_the_cli_layer(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if _forbidden(name)
    ]
    assert offenders == []


def test_the_import_checker_catches_a_cli_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import rich.console\nfrom podcast.cli.common import console\n")
    assert [n for n in _imports(bad) if _forbidden(n)] == ["rich.console", "podcast.cli.common"]


def test_no_code_below_the_cli_reads_the_current_directory() -> None:
    offenders = []
    for package in ("podcast", *DOMAIN_PACKAGES):
        for path in (ROOT / package).rglob("*.py"):
            if "cli" in path.relative_to(ROOT).parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "Path.cwd(" in text or "os.getcwd(" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_cli_starts_without_loading_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, podcast.cli; "
        "heavy = [m for m in ('scipy', 'parselmouth', 'piper', 'feedgen', 'PIL', 'faster_whisper', "
        "'onnxruntime', 'sounddevice', 'pyloudnorm') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"
