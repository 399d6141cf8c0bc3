"""Helpers shared by the benchmarks: Fashion-MNIST folders and a markdown results file."""

import re
import sys
from pathlib import Path

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


def write_section(name: str, text: str) -> None:
    """Replace (or append) the section between <!-- name --> markers in docs/benchmarks.md."""
    DOCS.mkdir(exist_ok=True)
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    block = f"<!-- {name} -->\n{text.strip()}\n<!-- /{name} -->"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)


__all__ = ["CLASS_NAMES", "DOCS", "ROOT", "fashion_folder", "load_split", "write_section"]
