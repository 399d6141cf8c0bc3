"""Encode and write images on worker threads while the next batch is generated.

Pillow releases the GIL while compressing, so threads overlap with generation;
at most a few batches are in flight, so memory stays flat however large n is.
"""

import json
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ganaug_cli.imaging import to_pil

NUMBERED = re.compile(r"^(?P<prefix>\D*)(?P<index>\d+)\.(png|jpg|webp)$")
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}


def _numbered(folder: Path, prefix: str):
    if folder.is_dir():
        for path in folder.iterdir():
            if (m := NUMBERED.match(path.name)) and m["prefix"] == prefix:
                yield path, int(m["index"])


def next_index(folder: Path, prefix: str = "") -> int:
    """One past the highest numbered image already in ``folder`` (names never repeat)."""
    return max((index for _, index in _numbered(folder, prefix)), default=0) + 1


def remove_numbered_images(folder: Path, prefix: str = "") -> None:
    """--overwrite: remove the images a previous ``sample`` wrote (numbered names only)."""
    for path, _ in list(_numbered(folder, prefix)):
        path.unlink()


class ImageWriter:
    def __init__(
        self, fmt: str, size: int | tuple[int, int] | None, quality: int, workers: int | None = None, max_pending: int = 4
    ):
        self.fmt, self.size, self.quality = fmt, size, quality
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        self.pending: deque[Future] = deque()
        self.max_pending = max_pending

    def _write_batch(self, arrays: np.ndarray, paths: list[Path]) -> list[Path]:
        size = (self.size, self.size) if isinstance(self.size, int) else self.size
        for array, path in zip(arrays, paths):
            image = to_pil(array)
            if size and image.size != tuple(size):
                image = image.resize(tuple(size), Image.Resampling.LANCZOS)
            options = {"quality": self.quality} if self.fmt in ("jpg", "webp") else {"compress_level": 1}
            image.save(path, format=PIL_FORMATS[self.fmt], **options)
        return paths

    def submit(self, arrays: np.ndarray, paths: list[Path]) -> list[Path]:
        """Queue a batch; returns the paths of batches finished meanwhile, in order."""
        done = []
        while len(self.pending) >= self.max_pending:
            done.extend(self.pending.popleft().result())
        # Split the batch so every worker thread gets a share.
        shares = max(1, min(len(paths), self.pool._max_workers))
        for part in np.array_split(np.arange(len(paths)), shares):
            if len(part):
                self.pending.append(self.pool.submit(self._write_batch, arrays[part], [paths[i] for i in part]))
        return done

    def finish(self) -> list[Path]:
        done = []
        while self.pending:
            done.extend(self.pending.popleft().result())
        return done

    def close(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True)


def append_manifest(out: Path, records: list[dict]) -> None:
    with open(out / "manifest.jsonl", "a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
