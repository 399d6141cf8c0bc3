"""Find the image files of a folder and their classes (class = first-level subfolder)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from ganaug_cli.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass
class ImageFile:
    path: Path  # as reached from the root (symbolic links not resolved)
    relative: str  # POSIX path relative to the root, shown in messages
    class_name: str


@dataclass
class FolderScan:
    files: list[ImageFile]
    class_names: list[str]
    loose_files: list[str] = field(default_factory=list)  # top-level images skipped


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def scan_image_folder(root: Path, flat: bool = False) -> FolderScan:
    """Walk ``root`` (following links, skipping hidden entries) and list its images.

    A file reached twice, for example through a symbolic link, is listed once. ``flat``: one
    class, whatever the subfolders (an unlabelled folder).
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    found: list[tuple[Path, str, tuple[str, ...]]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real_dir = os.path.realpath(dirpath)
        if real_dir in seen_dirs:  # a link cycle or a second link to the same folder
            dirnames[:] = []
            continue
        seen_dirs.add(real_dir)
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        rel_dir = Path(dirpath).relative_to(root).parts
        for name in sorted(filenames):
            if _is_hidden(name) or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = Path(dirpath) / name
            real = os.path.realpath(path)
            if real in seen_files:
                continue
            seen_files.add(real)
            found.append((path, "/".join(rel_dir + (name,)), rel_dir))
    if not found:
        raise DataError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")

    nested = [item for item in found if item[2]]
    if not nested or flat:  # a flat folder is one class, named after the folder
        name = root.resolve().name or "images"
        return FolderScan([ImageFile(p, rel, name) for p, rel, _ in found], [name])
    loose = [rel for _, rel, parts in found if not parts]
    files = [ImageFile(p, rel, parts[0]) for p, rel, parts in nested]
    return FolderScan(files, sorted({f.class_name for f in files}), loose)
