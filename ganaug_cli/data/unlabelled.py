"""An unlabelled folder of the user's domain (``--unlabeled DIR``): every image, whatever its
subfolder, decoded at the labelled folder's size. It is only read; unusable files are skipped
and named, as for ``--data``."""

import logging
from pathlib import Path

from ganaug_cli.config import DataConfig
from ganaug_cli.data.folder import CHANNEL_NAMES, ImageFolder, load_image_folder
from ganaug_cli.data.scan import scan_image_folder
from ganaug_cli.progress import SILENT, Progress

log = logging.getLogger("ganaug")


def read_unlabelled(folder: Path, resolution: int, channels: int, progress: Progress = SILENT) -> ImageFolder:
    """Every usable image under ``folder`` at the real images' size; class subfolders are ignored."""
    scan = scan_image_folder(Path(folder))
    if len(scan.class_names) > 1 or scan.loose_files:
        log.info("%s: has subfolders; read as unlabelled (its subfolders are not used as classes)", folder)
    config = DataConfig(path=folder, resolution=resolution, channels=CHANNEL_NAMES[channels])
    return load_image_folder(config, progress=progress, flat=True)
