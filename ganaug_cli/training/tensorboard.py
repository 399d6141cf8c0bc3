"""TensorBoard scalars and preview images, when the optional ``tensorboard`` extra is installed."""

import logging
from pathlib import Path

import numpy as np
from PIL import Image

log = logging.getLogger("ganaug")


class _NoBoard:
    def scalars(self, record: dict, step: int) -> None: ...

    def image(self, path: Path, step: int) -> None: ...

    def close(self) -> None: ...


class _Board(_NoBoard):
    def __init__(self, writer):
        self.writer = writer

    def scalars(self, record, step):
        for key, value in record.items():
            if key not in ("step", "time") and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, step)

    def image(self, path, step):
        array = np.asarray(Image.open(path).convert("RGB"))
        self.writer.add_image("preview", array, step, dataformats="HWC")

    def close(self):
        self.writer.close()


def open_tensorboard(run_dir: Path | None):
    """TensorBoard files in the run folder when the extra is installed; ``None``: none (a rank
    other than 0 of a job)."""
    if run_dir is None:
        return _NoBoard()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the extra is optional: no TensorBoard files then
        return _NoBoard()
    return _Board(SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard")))
