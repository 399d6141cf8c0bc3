"""Run folders, the latest run, and checkpoints that are safe to load."""

import os
import pickle
import time

import pytest
import torch

from ganaug_cli.errors import CheckpointError, RunError
from ganaug_cli.runs import (
    checkpoints,
    create_run_dir,
    find_latest_run,
    load_checkpoint,
    save_checkpoint,
)


def test_run_folders_are_numbered_per_family(tmp_path):
    root = tmp_path / "runs"
    assert create_run_dir("gan", runs_root=root).name == "gan-0001"
    assert create_run_dir("gan", runs_root=root).name == "gan-0002"
    assert create_run_dir("rbm", runs_root=root).name == "rbm-0001"
    (root / "gan-0007").mkdir()
    assert create_run_dir("gan", runs_root=root).name == "gan-0008"


def test_an_existing_non_empty_out_folder_is_refused(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    assert create_run_dir("gan", out=out) == out  # empty is fine
    (out / "keep.txt").write_text("user data")
    with pytest.raises(RunError, match="not empty"):
        create_run_dir("gan", out=out)
    assert (out / "keep.txt").read_text() == "user data"


def test_the_latest_run_is_the_one_with_the_newest_checkpoint(tmp_path):
    root = tmp_path / "runs"
    older, newer = create_run_dir("gan", runs_root=root), create_run_dir("rbm", runs_root=root)
    create_run_dir("dbn", runs_root=root)  # no checkpoint: never the latest
    save_checkpoint(newer, 1, {}, keep=3)
    save_checkpoint(older, 5, {}, keep=3)
    assert find_latest_run(root) == older
    stamp = time.time() + 10
    os.utime(checkpoints(newer)[-1], (stamp, stamp))
    assert find_latest_run(root) == newer


def test_no_runs_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="no trained run found"):
        find_latest_run(tmp_path / "runs")


def test_only_the_newest_checkpoints_are_kept_and_no_temporary_files_remain(tmp_path):
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, {"weights": torch.ones(2) * step}, keep=2)
    assert [p.name for p in checkpoints(tmp_path)] == ["step-00000030.pt", "step-00000040.pt"]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")]
    loaded = load_checkpoint(checkpoints(tmp_path)[-1])
    assert loaded["step"] == 40 and loaded["weights"].tolist() == [40.0, 40.0]


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_checkpoint_carrying_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "ganaug-checkpoint", "format_version": 1, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="pickled code"):
        load_checkpoint(path)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload(), protocol=2))  # torch.load's own protocol, so it raises no warning
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)


def test_truncated_foreign_and_future_checkpoints_are_refused(tmp_path):
    good = save_checkpoint(tmp_path, 1, {"w": torch.zeros(1000)}, keep=1)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a ganaug checkpoint"):
        load_checkpoint(foreign)
    future = tmp_path / "future.pt"
    torch.save({"format": "ganaug-checkpoint", "format_version": 99}, future)
    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        load_checkpoint(future)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
