"""Run folders: numbering, the latest run, atomic checkpoints and metrics.jsonl.

A run folder holds ``config.yaml`` (the resolved config), ``run.json`` (a summary
for ``ganaug runs``), ``metrics.jsonl``, ``checkpoints/step-NNNNNNNN.pt`` and
``previews/``.
"""

import json
import os
import re
import time
from pathlib import Path

import torch
import yaml

from ganaug_cli import __version__
from ganaug_cli.errors import CheckpointError, RunError

DEFAULT_RUNS_ROOT = Path("runs")
CHECKPOINT_MARK = "ganaug-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
RUN_NAME = re.compile(r"^(?P<family>[a-z]+)-(?P<index>\d{4,})$")
CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.pt$")


def create_run_dir(family: str, out: Path | None = None, runs_root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """``out`` if given (refused when non-empty), else the family's next ``runs/<family>-NNNN``."""
    if out is not None:
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"{out}: already exists and is not empty (choose another --out or --resume it)")
        out.mkdir(parents=True, exist_ok=True)
        return out
    runs_root.mkdir(parents=True, exist_ok=True)
    while True:  # mkdir is atomic, so two runs started at once never share a folder
        taken = [int(m["index"]) for p in runs_root.iterdir() if (m := RUN_NAME.match(p.name)) and m["family"] == family]
        candidate = runs_root / f"{family}-{max(taken, default=0) + 1:04d}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest step first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def list_runs(runs_root: Path = DEFAULT_RUNS_ROOT) -> list[Path]:
    """Run folders under ``runs_root`` that have at least one checkpoint, newest checkpoint last."""
    if not Path(runs_root).is_dir():
        return []
    runs = [(latest.stat().st_mtime, p) for p in Path(runs_root).iterdir() if p.is_dir() and (latest := latest_checkpoint(p))]
    return [p for _, p in sorted(runs)]


def find_latest_run(runs_root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """The run whose newest checkpoint was written most recently."""
    runs = list_runs(runs_root)
    if not runs:
        raise RunError(f"no trained run found under {runs_root}/ (train one first, or pass --run DIR)")
    return runs[-1]


def write_atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` and rename, so a crash never leaves half a file."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_run_config(run_dir: Path, config: dict) -> None:
    text = yaml.safe_dump(config, sort_keys=False)
    write_atomic(Path(run_dir) / "config.yaml", lambda p: p.write_text(text, encoding="utf-8"))


def read_run_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.yaml"
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RunError(f"{path}: cannot read the run's config ({exc.__class__.__name__})") from None
    if not isinstance(loaded, dict):
        raise RunError(f"{path}: not a ganaug run config")
    return loaded


def write_run_summary(run_dir: Path, summary: dict) -> None:
    text = json.dumps(summary, indent=2)
    write_atomic(Path(run_dir) / "run.json", lambda p: p.write_text(text, encoding="utf-8"))


def read_run_summary(run_dir: Path) -> dict:
    path = Path(run_dir) / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RunError(f"{run_dir}: not a ganaug run folder (no readable run.json)") from None


def append_metrics(run_dir: Path, record: dict) -> None:
    with open(Path(run_dir) / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def save_checkpoint(run_dir: Path, step: int, payload: dict, keep: int) -> Path:
    """Write ``step-NNNNNNNN.pt`` atomically and keep only the newest ``keep``."""
    folder = Path(run_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        "format": CHECKPOINT_MARK,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "ganaug_version": __version__,
        "step": step,
        **payload,
    }
    path = folder / f"step-{step:08d}.pt"
    write_atomic(path, lambda p: torch.save(content, p))
    for old in checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint without executing pickled code; any problem is one CheckpointError line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text or "Unpickler" in text:
            reason = "refused: it holds pickled code or objects, which ganaug never loads"
        else:
            reason = "truncated or corrupt, or not a checkpoint"
        raise CheckpointError(f"{path}: cannot load checkpoint ({reason})") from None
    if not isinstance(content, dict) or content.get("format") != CHECKPOINT_MARK:
        raise CheckpointError(f"{path}: not a ganaug checkpoint")
    version = content.get("format_version")
    if version != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is not supported "
            f"(this ganaug {__version__} reads version {CHECKPOINT_FORMAT_VERSION})"
        )
    return content


def checkpoint_time(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(Path(path).stat().st_mtime))
