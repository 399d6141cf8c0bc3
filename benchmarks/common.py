"""Helpers shared by the benchmarks: Fashion-MNIST folders and a markdown results file."""

import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from make_fashion_mnist_subset import CLASS_NAMES, load_split, write_subset  # noqa: E402

DOCS = ROOT / "docs"
RESULTS = DOCS / "benchmarks.md"


def fashion_folder(out: Path, per_class: int, split: str = "train") -> Path:
    """A Fashion-MNIST ImageFolder with ``per_class`` PNGs per class (made once)."""
    marker = out / ".complete"
    if not marker.exists():
        write_subset(out, per_class, split)
        marker.write_text("ok")
    return out


def as_32(image: Image.Image) -> np.ndarray:
    """Gray 32×32, resized with the loader's resampling (Lanczos) when needed."""
    image = image.convert("L")
    return np.asarray(image if image.size == (32, 32) else image.resize((32, 32), Image.Resampling.LANCZOS))


def resize32(images: np.ndarray) -> torch.Tensor:
    """28×28 uint8 arrays -> N×1×32×32 uint8."""
    return torch.from_numpy(np.stack([as_32(Image.fromarray(im)) for im in images]))[:, None]


def read_class_folder(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """A Fashion-MNIST class-folder tree as N×1×32×32 uint8 images and labels in CLASS_NAMES order."""
    images, labels = [], []
    for index, name in enumerate(CLASS_NAMES):
        for path in sorted((folder / name).glob("*.png")):
            images.append(as_32(Image.open(path)))
            labels.append(index)
    return torch.from_numpy(np.stack(images))[:, None], torch.tensor(labels)


def write_section(name: str, text: str, document: Path = RESULTS) -> None:
    """Replace (or append) the section between <!-- name --> markers in docs/benchmarks.md (or ``document``)."""
    DOCS.mkdir(exist_ok=True)
    current = document.read_text() if document.exists() else "# Benchmarks\n"
    block = f"<!-- {name} -->\n{text.strip()}\n<!-- /{name} -->"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    document.write_text(current)


__all__ = ["CLASS_NAMES", "DOCS", "ROOT", "fashion_folder", "load_split", "microseconds", "read_class_folder", "resize32",
           "write_section"]


def microseconds(work, reps: int = 400) -> float:
    """Median over five rounds of ``work``'s time per call, in µs, after a warm-up."""
    for _ in range(20):
        work()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            work()
        rounds.append((time.perf_counter() - start) / reps * 1e6)
    return round(statistics.median(rounds), 1)
