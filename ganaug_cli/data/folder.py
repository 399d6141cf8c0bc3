"""Load an image folder into memory: N×C×H×W uint8 images, integer labels, class names."""

import logging
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ganaug_cli.config import DataConfig
from ganaug_cli.data.cache import cache_key, load_cached, save_cached
from ganaug_cli.data.decode import UnusableImage, decode_image, image_size
from ganaug_cli.data.scan import FolderScan, scan_image_folder
from ganaug_cli.errors import DataError
from ganaug_cli.progress import SILENT, Progress

log = logging.getLogger("ganaug")
CHANNEL_COUNT = {"gray": 1, "rgb": 3, "rgba": 4}
CHANNEL_NAMES = {count: name for name, count in CHANNEL_COUNT.items()}
# Why ``channels: auto`` chose what it did; derived from the choice, so a cached folder says it too.
AUTO_REASON = {"rgba": ": some images have transparency", "gray": ": every image is gray", "rgb": ""}


@dataclass
class ImageFolder:
    images: torch.Tensor  # N×C×H×W uint8
    labels: torch.Tensor  # N int64, index into class_names
    class_names: list[str]
    channels: str  # gray, rgb or rgba
    files: list[str]  # relative paths, aligned with images
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[-1])

    def without(self, files: set[str]) -> "ImageFolder":
        """The same folder less the images at these relative paths."""
        keep = torch.tensor([name not in files for name in self.files], dtype=torch.bool)
        kept = [name for name in self.files if name not in files]
        return replace(self, images=self.images[keep], labels=self.labels[keep], files=kept)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.class_names)).tolist()


def choose_resolution(typical: int, sizes: tuple[int, ...] | None) -> int:
    """``auto``: the typical size itself, or the nearest supported size above it."""
    if not sizes:
        return typical
    above = [s for s in sorted(sizes) if s >= typical]
    return above[0] if above else max(sizes)


def _convert_channels(rgba: np.ndarray, channels: str, background) -> np.ndarray:
    """N×H×W×4 uint8 -> N×C×H×W uint8 with transparency composited on ``background``."""
    if channels == "rgba":
        return rgba.transpose(0, 3, 1, 2).copy()
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    bg = np.asarray(background, dtype=np.float32)
    rgb = rgba[..., :3].astype(np.float32) * alpha + bg * (1.0 - alpha)
    if channels == "gray":  # ITU-R 601 luma, as Pillow's convert("L")
        rgb = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).copy()


def _warn_skipped(skipped: list[tuple[str, str]], loose: list[str]) -> None:
    if loose:
        log.warning(
            "warning: skipped %d image(s) lying directly in the data folder next to class subfolders",
            len(loose),
        )
    if skipped:
        lines = "".join(f"\n  {path}: {reason}" for path, reason in skipped)
        log.warning("warning: skipped %d unusable file(s):%s", len(skipped), lines)


def load_image_folder(
    config: DataConfig,
    *,
    auto_sizes: tuple[int, ...] | None = None,
    progress: Progress = SILENT,
    flat: bool = False,
) -> ImageFolder:
    """Decode every usable image under ``config.path`` once, in parallel.

    ``auto_sizes`` are the resolutions the model family supports (None = any).
    ``channels: auto`` is rgba when some source image has real transparency,
    else gray when every image is gray, else rgb; the choice is logged. ``flat``: every image
    is of one class, whatever its subfolder (an unlabelled folder).
    The data folder is only read, never written.
    """
    if config.path is None:
        raise DataError("no data folder given (use --data DIR or data.path in the config)")
    root = Path(config.path)
    scan = _without_excluded(scan_image_folder(root, flat), config.exclude, root)
    settings = config.model_dump(mode="json", exclude={"path", "strict", "cache", "workers", "exclude"})
    settings["auto_sizes"], settings["flat"] = list(auto_sizes or []), flat
    key = cache_key(root, scan, settings)
    cached = load_cached(key) if config.cache else None
    if cached is not None:
        folder = ImageFolder(**cached)
    else:
        folder = _decode_folder(config, scan, auto_sizes, progress)
        if config.cache:
            save_cached(key, folder.__dict__)
    if folder.skipped and config.strict:
        path, reason = folder.skipped[0]
        raise DataError(f"{root / path}: {reason} (strict mode; {len(folder.skipped)} unusable file(s))")
    _warn_skipped(folder.skipped, scan.loose_files)
    if config.channels == "auto":
        log.info("channels: %s (auto%s)", folder.channels, AUTO_REASON[folder.channels])
    return folder


def _without_excluded(scan: FolderScan, exclude: list[str], root: Path) -> FolderScan:
    if not exclude:
        return scan
    excluded = set(exclude)
    unknown = excluded - {f.relative for f in scan.files}
    if unknown:
        log.warning("warning: data.exclude: %d listed file(s) are not in %s (first: %s)", len(unknown), root,
                    sorted(unknown)[0])
    files = [f for f in scan.files if f.relative not in excluded]
    if not files:
        raise DataError(f"{root}: data.exclude leaves no image")
    return replace(scan, files=files)


def _decode_folder(config: DataConfig, scan, auto_sizes, progress: Progress) -> ImageFolder:
    workers = config.workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        resolution = config.resolution
        if resolution == "auto":
            sizes = [s for s in pool.map(image_size, [f.path for f in scan.files]) if s]
            typical = int(statistics.median(min(s) for s in sizes)) if sizes else 32
            resolution = choose_resolution(typical, auto_sizes)

        def decode(item):
            try:
                return decode_image(item.path, resolution, config.resize, config.background)
            except UnusableImage as exc:
                return str(exc)

        arrays, grays, transparent, labels, files, skipped = [], [], [], [], [], []
        class_index = {name: i for i, name in enumerate(scan.class_names)}
        with progress.task("decoding images", total=len(scan.files), unit="img") as task:
            for item, result in zip(scan.files, pool.map(decode, scan.files)):
                task.update()
                if isinstance(result, str):
                    skipped.append((item.relative, result))
                    continue
                array, is_gray, has_transparency = result
                arrays.append(array)
                grays.append(is_gray)
                transparent.append(has_transparency)
                labels.append(class_index[item.class_name])
                files.append(item.relative)
    if not arrays:
        raise DataError(f"{config.path}: no usable images ({len(skipped)} file(s) could not be read)")
    channels = config.channels
    if channels == "auto":
        # Transparency wins over gray: compositing it away would lose the cut-out shapes.
        channels = "rgba" if any(transparent) else "gray" if all(grays) else "rgb"
    images = _convert_channels(np.stack(arrays), channels, config.background)
    used = sorted(set(labels))
    if len(used) < len(scan.class_names):  # a class folder whose every file was unusable
        remap = {old: new for new, old in enumerate(used)}
        labels = [remap[label] for label in labels]
    return ImageFolder(
        images=torch.from_numpy(images),
        labels=torch.tensor(labels, dtype=torch.int64),
        class_names=[scan.class_names[i] for i in used],
        channels=channels,
        files=files,
        skipped=skipped,
    )
