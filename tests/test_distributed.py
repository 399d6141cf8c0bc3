"""Training as a torchrun job on CPU (gloo, two processes): one model, one set of run files,
the first update of a split batch equals one process's, resume into one process, and a lost
rank ends the job."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from conftest import read_metrics, two_tone_folder
from ganaug_cli.runs import checkpoints, load_checkpoint

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is needed")

TINY_DAE = ["--device", "cpu", "--set", "data.resolution=16", "--set", "model.width=8", "--set", "model.levels=2",
            "--set", "train.batch_size=4", "--set", "train.log_every=1", "--set", "train.preview_every=1000"]
# Ratio matching is deterministic (no sampling), so a split batch gives exactly the same gradient.
DETERMINISTIC_RBM = ["--device", "cpu", "--set", "data.resolution=8", "--set", "model.hidden=16",
                     "--set", "model.binarize=threshold", "--set", "train.criterion=ratio-matching",
                     "--set", "eval.val_fraction=0", "--set", "eval.ais_betas=50", "--set", "eval.ais_chains=10",
                     "--set", "train.log_every=1"]


def ganaug(*args, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ganaug_cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def test_two_processes_train_one_model_into_one_run_folder_that_samples_in_one_process(tmp_path):
    data = two_tone_folder(tmp_path / "data")
    result = ganaug("train-dae", "--data", data, "--nproc", "2", "--steps", "6", "--seed", "1", *TINY_DAE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [str(Path("runs") / "dae-0001")]  # rank 0 alone prints it
    run = tmp_path / "runs" / "dae-0001"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["dae-0001"]
    assert [m["step"] for m in read_metrics(run)] == [1, 2, 3, 4, 5, 6]  # one line per step, not one per rank
    assert "processes: 2, global batch 8 (train.batch_size 4 per process)" in result.stderr
    assert "error" not in result.stderr.lower()  # the replicas were checked at the end, and agreed
    sample = ganaug("sample", "--run", run, "-n", "4", "--out", tmp_path / "samples", "--quiet", "--steps", "2",
                    cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    assert len(list((tmp_path / "samples").rglob("*.png"))) == 4


def test_a_batch_split_over_two_processes_gives_the_update_of_one_process_on_the_whole_batch(tmp_path):
    data = two_tone_folder(tmp_path / "data")
    one = ganaug("train-rbm", "--data", data, "--steps", "1", "--seed", "5", "--out", tmp_path / "one",
                 "--set", "train.batch_size=8", *DETERMINISTIC_RBM, cwd=tmp_path)
    two = ganaug("train-rbm", "--data", data, "--steps", "1", "--seed", "5", "--out", tmp_path / "two", "--nproc", "2",
                 "--set", "train.batch_size=4", *DETERMINISTIC_RBM, cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    left, right = (load_checkpoint(checkpoints(tmp_path / name)[-1])["model_state"] for name in ("one", "two"))
    assert left.keys() == right.keys()
    changed = False
    for name in left:
        assert torch.allclose(left[name], right[name], atol=1e-6), name
        changed |= name == "W" and bool((left[name] != 0).any())
    assert changed


def test_a_run_of_two_processes_resumes_in_one(tmp_path):
    data = two_tone_folder(tmp_path / "data")
    first = ganaug("train-rbm", "--data", data, "--steps", "2", "--seed", "2", "--out", tmp_path / "run", "--nproc", "2",
                   "--set", "train.batch_size=4", *DETERMINISTIC_RBM, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resumed = ganaug("train-rbm", "--resume", tmp_path / "run", "--steps", "5", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert [m["step"] for m in read_metrics(tmp_path / "run") if "objective" in m] == [1, 2, 3, 4, 5]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["step"] == 5


def _rank_one_of(job: subprocess.Popen) -> int | None:
    """The pid of the job's rank-1 worker (a child of ganaug, which runs torchrun's launcher)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"RANK=1" in environ and parent == job.pid:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the worker through /proc")
def test_a_rank_killed_mid_run_ends_the_job_with_an_error_and_keeps_the_last_checkpoint(tmp_path):
    data = two_tone_folder(tmp_path / "data")
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, "-m", "ganaug_cli", "train-dae", "--data", str(data), "--nproc", "2",
                            "--steps", "1000000", "--out", str(run), *TINY_DAE, "--set", "train.checkpoint_every=5"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints").exists() or not checkpoints(run):
            assert job.poll() is None and time.monotonic() < deadline, "the job did not start"
            time.sleep(0.5)
        worker = _rank_one_of(job)
        assert worker is not None
        os.kill(worker, signal.SIGKILL)
        _, err = job.communicate(timeout=120)  # bounded: no hang
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0
    assert checkpoints(run)  # the last good checkpoint is kept
    assert "Traceback" not in err
    assert "error: the training job stopped: its process of rank 1 was killed by SIGKILL" in err


def test_a_torchrun_environment_that_does_not_add_up_is_a_one_line_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    code, out, err = cli("train-rbm", "--data", two_tone_folder(tmp_path / "data"), "--out", tmp_path / "run")
    assert code == 1 and out == ""
    assert err.strip() == "error: WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)"
    assert not (tmp_path / "run").exists()
