"""The wheel ships the search spaces (top-level ``search_spaces/``) and the data sets.

A wheel is built from a copy of the source tree, so the build leaves nothing in the checkout,
and it is then used unpacked, from outside the repository, the way an installed copy is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("setuptools")

ROOT = Path(__file__).resolve().parents[1]
SPACES = sorted(p.name for p in (ROOT / "search_spaces").glob("*.yaml"))
DATA_FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for pattern in ("*.csv.gz", "*.md")
    for p in (ROOT / "autoimb").rglob(pattern)
)
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "out"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--wheel-dir",
        str(base / "dist"),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    (built,) = (base / "dist").glob("autoimb-*.whl")
    return built


def test_the_checkout_has_spaces_and_data_sets() -> None:
    assert {"default.yaml", "fast.yaml", "deep.yaml", "portfolio.yaml"} <= set(SPACES)
    assert any(name.endswith(".csv.gz") for name in DATA_FILES)
    assert not (ROOT / "autoimb" / "search_spaces").exists()


def test_wheel_ships_spaces_and_data_sets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for space in SPACES:
        assert f"autoimb/search_spaces/{space}" in names
    assert "autoimb/search_spaces/__init__.py" in names
    for data_file in DATA_FILES:
        assert data_file in names
    assert "autoimb/py.typed" in names
    assert not [name for name in names if name.startswith("search_spaces/")]
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    assert "autoimb = autoimb.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_wheel_carries_the_version_the_package_reports(wheel: Path) -> None:
    """One place holds the version (``autoimb.__version__``); the wheel's name and metadata
    read it from there."""
    import autoimb

    assert wheel.name.startswith(f"autoimb-{autoimb.__version__}-")
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    lines = archive.read(metadata).decode().splitlines()
    assert f"Version: {autoimb.__version__}" in lines


def test_installed_wheel_finds_spaces(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = textwrap.dedent(
        f"""
        import contextlib, io, sys
        sys.path.insert(0, {str(site)!r})

        import autoimb, autoimb.search_spaces
        from autoimb.cli import main
        from autoimb.engine.space import builtin_spaces, load_space
        from autoimb.engine.transfer import portfolio

        for module in (autoimb, autoimb.search_spaces):
            assert module.__file__.startswith({str(site)!r}), module.__file__
        print("spaces", *builtin_spaces())
        load_space("default")
        print("portfolio", len(portfolio()))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["spaces", "default"])
        print("cli", code)
        print(out.getvalue())
        """
    )
    # -I: neither the current folder nor PYTHONPATH can put the checkout's copy first.
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    expected = sorted(name.removesuffix(".yaml") for name in SPACES if name != "portfolio.yaml")
    assert lines[0] == " ".join(["spaces", *expected])
    assert lines[1].startswith("portfolio ") and int(lines[1].split()[1]) > 0
    assert lines[2] == "cli 0"
    assert lines[3].startswith("default:")
    assert "model:" in done.stdout


def test_declared_floors_are_the_versions_ci_tests() -> None:
    """Every runtime floor in pyproject.toml is pinned, exactly, in .ci/lowest.txt."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = dict(spec.split(">=") for spec in declared)
    pins = dict(
        line.split("==")
        for line in (ROOT / ".ci" / "lowest.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert floors == pins
