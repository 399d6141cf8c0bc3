"""Shared fixtures: small image folders made on the fly, an isolated cache and cwd."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganaug_cli.cli.app import run
from ganaug_cli.runs import checkpoints, load_checkpoint

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


TINY_GAN = [
    "--device", "cpu",
    "--set", "data.resolution=16",
    "--set", "model.width=8",
    "--set", "model.max_width=16",
    "--set", "model.z_dim=16",
    "--set", "train.batch_size=8",
]


def train_tiny_gan(data: Path, out: Path, *extra: str, steps: int = 2, seed: int = 0) -> Path:
    """A GAN run that trains in well under a second, for tests of what comes after training."""
    code = run(["train-gan", "--data", str(data), "--out", str(out), "--steps", str(steps),
                "--seed", str(seed), "--quiet", *TINY_GAN, *extra])
    assert code == 0, f"training failed with exit code {code}"
    return out


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory):
    """One conditional gray, one unconditional gray and one RGBA run, shared by the sampling tests."""
    root = tmp_path_factory.mktemp("trained")
    classes = make_class_folder(root / "classes", classes=("boot", "coat", "shirt"), per_class=3)
    flat = root / "flat"
    for i in range(4):
        save_gray(flat / f"{i}.png", value=30 * i)
    alpha = root / "alpha"
    for i in range(4):
        alpha.mkdir(exist_ok=True)
        Image.new("RGBA", (16, 16), (200, 40 * i, 10, 128)).save(alpha / f"{i}.png")
    env_cache = tmp_path_factory.mktemp("cache")
    import os

    previous = os.environ.get("GANAUG_CACHE_DIR")
    os.environ["GANAUG_CACHE_DIR"] = str(env_cache)
    try:
        return {
            "conditional": train_tiny_gan(classes, root / "run-conditional"),
            "unconditional": train_tiny_gan(flat, root / "run-unconditional"),
            "rgba": train_tiny_gan(alpha, root / "run-rgba", "--set", "data.channels=rgba"),
        }
    finally:
        if previous is None:
            os.environ.pop("GANAUG_CACHE_DIR", None)
        else:
            os.environ["GANAUG_CACHE_DIR"] = previous


# Boltzmann runs: a tiny two-class folder, their epoch lines, their exact state.


def two_tone_folder(root: Path, per_class: int = 8) -> Path:
    """A dark and a bright class of 8×8 gray images."""
    for i in range(per_class):
        save_gray(root / "bright" / f"{i}.png", value=225 - i, size=8)
        save_gray(root / "dark" / f"{i}.png", value=30 + i, size=8)
    return root


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def epoch_lines(run: Path) -> list[dict]:
    return [m for m in read_metrics(run) if any(k.endswith("_recon_error") for k in m)]


def trainer_tensors(run: Path) -> dict:
    content = load_checkpoint(checkpoints(run)[-1])
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}", v)
        else:
            flat[prefix] = value

    walk("", {"trainer": content["trainer"], "model": content["model_state"], "step": content["step"]})
    return flat


def assert_same_state(a: Path, b: Path) -> None:
    left, right = trainer_tensors(a), trainer_tensors(b)
    assert left.keys() == right.keys()
    for key in left:
        if isinstance(left[key], torch.Tensor):
            assert torch.equal(left[key], right[key]), key
        else:
            assert left[key] == right[key], key
