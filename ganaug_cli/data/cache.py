"""Decoded folders cached in the user's cache directory (never in the data folder).

The key covers the file list, sizes, mtimes and preprocessing settings, so any
change to the folder or the settings misses the cache and decodes afresh.
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from ganaug_cli.data.scan import FolderScan

log = logging.getLogger("ganaug")
CACHE_FORMAT = 2  # 2: channels auto picks rgba for folders with transparency


def cache_dir() -> Path:
    if os.environ.get("GANAUG_CACHE_DIR"):
        return Path(os.environ["GANAUG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganaug"


def cache_key(root: Path, scan: FolderScan, settings: dict) -> str:
    entries = []
    for item in scan.files:
        stat = item.path.stat() if item.path.exists() else None
        entries.append([item.relative, stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1])
    payload = {
        "format": CACHE_FORMAT,
        "root": str(Path(root).resolve()),
        "files": entries,
        "loose": scan.loose_files,
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def load_cached(key: str) -> dict | None:
    path = cache_dir() / f"images-{key}.pt"
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged cache entry is only a slower load
        log.debug("ignoring unreadable cache %s: %s", path, exc)
        return None


def save_cached(key: str, content: dict) -> None:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".images-{key}.{os.getpid()}.tmp"
        torch.save(content, temporary)
        os.replace(temporary, folder / f"images-{key}.pt")
    except OSError as exc:  # an unwritable cache must not stop training
        log.warning("warning: could not write the image cache in %s (%s)", folder, exc)
