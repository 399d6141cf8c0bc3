"""Shared fixtures: small image folders made on the fly, an isolated cache and cwd."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganaug_cli.cli.app import run

EXAMPLE_FOLDER = Path(__file__).resolve().parents[1] / "examples" / "fashion-mnist-100"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test gets its own cache directory and working directory (for ./runs)."""
    monkeypatch.setenv("GANAUG_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def save_gray(path: Path, value: int = 128, size: int = 28, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    pixels = np.clip(rng.normal(value, 20, (size, size)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "L").save(path, format=fmt)
    return path


def save_rgb(path: Path, colour=(200, 30, 30), size: int = 28) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)
    return path


def make_class_folder(root: Path, classes=("cat", "dog"), per_class: int = 4, size: int = 28) -> Path:
    for c, name in enumerate(classes):
        for i in range(per_class):
            save_gray(root / name / f"{i}.png", value=40 + 60 * c + i, size=size)
    return root


@pytest.fixture
def two_class_folder(tmp_path) -> Path:
    return make_class_folder(tmp_path / "data")


def folder_checksums(root: Path) -> dict[str, str]:
    """Every path under root with the hash of its content (and links' targets)."""
    result = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            result[key] = "link:" + str(path.readlink())
        elif path.is_file():
            result[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            result[key] = "dir"
    return result


@pytest.fixture
def cli(capsys):
    """Run ganaug in-process: returns (exit code, stdout, stderr)."""

    def invoke(*args: str):
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
