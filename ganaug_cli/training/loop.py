"""The one run loop shared by every family: batches, budget, metrics, previews,
checkpoints, and a clean stop on Ctrl-C or SIGTERM."""

import math
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from ganaug_cli.errors import Terminated, TrainingError
from ganaug_cli.imaging import save_grid
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.runs import append_metrics, latest_checkpoint
from ganaug_cli.training.base import Trainer
from ganaug_cli.training.checkpoint import write_training_checkpoint
from ganaug_cli.training.distributed import SINGLE, World
from ganaug_cli.training.tensorboard import open_tensorboard


@dataclass
class LoopState:
    step: int
    seed: int


class BatchPlan:
    """The data indices of batch ``step``: a pure function of (seed, step).

    Needing no sampler state keeps resumed runs exact. Balanced batches pick
    classes uniformly, then an image within the class; otherwise each epoch is
    a fresh permutation. What does not change between steps (the class layout,
    the current epoch's permutation) is computed once, off the hot path.
    """

    def __init__(self, labels: torch.Tensor, batch_size: int, seed: int, balanced: bool):
        self.n, self.batch_size, self.seed, self.balanced = labels.shape[0], batch_size, seed, balanced
        self.per_epoch = math.ceil(self.n / batch_size)
        self.counts = torch.bincount(labels)
        self.present = torch.nonzero(self.counts).squeeze(1)
        self.order = torch.argsort(labels, stable=True)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self._epoch, self._permutation = -1, None

    def indices(self, step: int) -> torch.Tensor:
        if self.balanced:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            classes = self.present[torch.randint(len(self.present), (self.batch_size,), generator=g)]
            offsets = (torch.rand(self.batch_size, generator=g) * self.counts[classes]).long()
            return self.order[self.starts[classes] + offsets]
        epoch, position = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._permutation = epoch, torch.randperm(self.n, generator=g)
        permutation = self._permutation
        chosen = permutation[position * self.batch_size : (position + 1) * self.batch_size]
        if len(chosen) < self.batch_size:  # the epoch's last batch is topped up to a full batch
            chosen = torch.cat([chosen, permutation[: self.batch_size - len(chosen)]])
        return chosen


def batch_indices(labels: torch.Tensor, step: int, batch_size: int, seed: int, balanced: bool) -> torch.Tensor:
    """One batch's indices without keeping a plan (for callers outside the loop)."""
    return BatchPlan(labels, batch_size, seed, balanced).indices(step)


class StopRequest:
    """Turns SIGINT/SIGTERM into a request the loop honours between steps,
    so the checkpoint it then writes is a consistent one. A second Ctrl-C stops at once."""

    def __init__(self):
        self.signal: int | None = None

    def handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def exception(self) -> BaseException:
        return Terminated() if self.signal == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def deferred_signals():
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.signal(s, request.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def save_preview(trainer: Trainer, run_dir: Path, step: int) -> Path:
    images, columns = trainer.preview()
    path = save_grid(images, run_dir / "previews" / f"step-{step:08d}.png", nrow=columns)
    shutil.copyfile(path, run_dir / "previews" / "latest.png")  # the same grid, not encoded twice
    for name, (extra, extra_columns) in trainer.extra_previews().items():
        save_grid(extra, run_dir / "previews" / f"{name}.png", nrow=extra_columns)
    return path


def _check_finite(losses: dict[str, float], step: int, run_dir: Path) -> None:
    bad = [name for name, value in losses.items() if not math.isfinite(value)]
    if bad:
        last = latest_checkpoint(run_dir)
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written"
        raise TrainingError(f"{', '.join(bad)} became {losses[bad[0]]} at step {step}; training stopped ({kept})")


class RankSteps:
    """The per-step decisions every rank must take alike: the losses (averaged, so the log and
    the NaN check agree), and whether to stop (a signal or the time budget seen by any rank)."""

    def __init__(self, world: World, device: torch.device):
        self.world, self.device = world, device

    def agree(self, losses: dict[str, torch.Tensor], stop: bool, out_of_time: bool) -> tuple[dict[str, float], bool, bool]:
        if not self.world.active:
            return {k: float(v) for k, v in losses.items()}, stop, out_of_time
        values = torch.stack([v.detach().float().to(self.device) for v in losses.values()]
                             + [torch.tensor(float(stop), device=self.device),
                                torch.tensor(float(out_of_time), device=self.device)])
        self.world.average_([values])
        *means, stop_share, time_share = values.tolist()
        return dict(zip(losses, means)), stop_share > 0, time_share > 0


def train_loop(
    trainer: Trainer,
    images: torch.Tensor,
    labels: torch.Tensor,
    run_dir: Path,
    state: LoopState,
    progress: Progress = SILENT,
    world: World = SINGLE,
) -> LoopState:
    """Train until the config's steps, epochs or minutes run out; checkpoint at the end.

    In a job of several processes (``world``) every rank runs this loop on its slice of each
    global batch of batch_size × ranks images; rank 0 alone logs, previews and checkpoints."""
    cfg = trainer.config.train
    device = trainer.device
    images, labels = trainer.hold_out(images, labels)
    images, labels = images.to(device), labels.to(device)  # small data: kept on the device
    batches = BatchPlan(labels.cpu(), cfg.batch_size * world.size, state.seed, trainer.balanced_batches)
    mine = slice(world.rank * cfg.batch_size, (world.rank + 1) * cfg.batch_size)
    per_epoch = math.ceil(images.shape[0] / (cfg.batch_size * world.size))
    ranks = RankSteps(world, device)
    last_step = min(cfg.steps or math.inf, (trainer.planned_epochs() or math.inf) * per_epoch)
    deadline = time.monotonic() + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    sums: dict[str, float] = {}
    interval_steps, interval_start = 0, time.monotonic()
    board = open_tensorboard(run_dir if world.main else None)

    def save(step: int) -> None:
        if world.main:
            write_training_checkpoint(trainer, run_dir, step, state.seed)

    def log_interval(extra: dict) -> None:
        """One metrics.jsonl line: the steps since the last line, averaged, and ``extra``."""
        nonlocal sums, interval_steps, interval_start
        record = {"step": state.step, "epoch": round(state.step / per_epoch, 3), "time": round(time.time(), 3)}
        if interval_steps:
            elapsed = time.monotonic() - interval_start
            record.update({k: round(v / interval_steps, 5) for k, v in sums.items()})
            record.update(trainer.extra_metrics())
            record["images_per_s"] = round(interval_steps * cfg.batch_size * world.size / max(elapsed, 1e-9), 2)
        record.update(extra)
        if world.main:
            append_metrics(run_dir, record)
            board.scalars(record, state.step)
        sums, interval_steps, interval_start = {}, 0, time.monotonic()

    total = None if last_step == math.inf else int(last_step)
    first_step = state.step
    with deferred_signals() as stop, progress.task("training", total=total, unit="step") as bar:
        bar.update(state.step)
        bar.count = 0  # the rate counts this session's steps only
        out_of_time = False
        while state.step < last_step and not out_of_time:
            index = batches.indices(state.step)[mine].to(device)
            # index_select: faster on CPU than images[index] (docs/benchmarks.md, RBM profile).
            batch = torch.index_select(images, 0, index).float().div_(255)
            losses, stopping, out_of_time = ranks.agree(trainer.train_step(batch, labels[index]),
                                                        stop.signal is not None, time.monotonic() >= deadline)
            _check_finite(losses, state.step + 1, run_dir)
            state.step += 1
            interval_steps += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.update(1, **{k: round(v, 4) for k, v in losses.items()}, img_per_s=round(bar.rate * cfg.batch_size, 1))
            record = {}
            if state.step % per_epoch == 0 and world.main:  # metrics only: the other ranks go on
                record.update(trainer.end_of_epoch(state.step // per_epoch, images, labels))
            if state.step % cfg.log_every == 0 or record:
                log_interval(record)
            if state.step % cfg.preview_every == 0 and world.main:
                board.image(save_preview(trainer, run_dir, state.step), state.step)
            epoch_done = state.step % per_epoch == 0 and trainer.checkpoint_each_epoch
            if state.step % cfg.checkpoint_every == 0 or epoch_done:
                save(state.step)
            if stopping:
                save(state.step)
                raise stop.exception() if stop.signal is not None else Terminated()
    final = trainer.end_of_run(images, labels) if state.step > first_step and world.main else {}
    if interval_steps or final:  # every run, however short, ends with a line for its last steps
        log_interval(final)
    if world.main:
        newest = latest_checkpoint(run_dir)
        if newest is None or newest.name != f"step-{state.step:08d}.pt":
            save(state.step)
        save_preview(trainer, run_dir, state.step)
    board.close()
    world.check_replicas(trainer.sampling_model, state.step)
    world.barrier()  # no rank leaves (and tears the group down) while rank 0 still writes
    return state
