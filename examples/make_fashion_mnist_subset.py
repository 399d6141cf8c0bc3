"""Write a small Fashion-MNIST ImageFolder (PNG files, one subfolder per class).

Reads the gzip'd IDX files of the Debian package dataset-fashion-mnist. Used to
build examples/fashion-mnist-100 and the benchmark folders:

    python examples/make_fashion_mnist_subset.py --per-class 100 --out examples/fashion-mnist-100
"""

import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image

SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = [
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
]


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(split: str, source: Path = SOURCE) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels


def write_subset(out: Path, per_class: int, split: str = "train", offset: int = 0) -> None:
    """The first ``per_class`` images of each class (after skipping ``offset``)."""
    images, labels = load_split(split)
    for index, name in enumerate(CLASS_NAMES):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        chosen = np.flatnonzero(labels == index)[offset : offset + per_class]
        for position in chosen:
            Image.fromarray(images[position], "L").save(folder / f"{split}-{position:05d}.png", optimize=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--split", choices=["train", "test"], default="train")
    args = parser.parse_args()
    write_subset(args.out, args.per_class, args.split)
