"""ganaug's RBM vs scikit-learn's BernoulliRBM on binarised Fashion-MNIST (issue 5).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_vs_sklearn.py [--part speed|profile|quality|grids|all]

Data: the first 10k training images binarised at 0.5, 500 hidden units, no label units.
Every part runs its contestants one after the other, never at the same time.

- speed: batch 100, PCD-1, learning rate 0.05, no momentum or weight decay (sklearn's
  update), float32. Seconds per epoch of sklearn's ``fit``, of ganaug's ``train_step`` (on
  ready float batches, and on the shared loop's path: gather uint8 rows, convert, step),
  and of a floor: the same five matrix products per batch and nothing else. The floor and
  ganaug's two paths alternate epoch by epoch and each reports its median epoch.
- quality: ganaug's default recipe (PCD-1, lr 0.01, momentum 0.5 -> 0.9, weight decay 2e-4)
  vs sklearn (batch 100, lr 0.05), 60 s of training each; test log-likelihood of the 10k
  test images (binarised at 0.5) by the same AIS code for both models.
- profile (not in all): torch.profiler's per-op table of 100 ``train_step`` calls, and
  micro-timings of Bernoulli sampling with torch's generator and with numpy's SFC64.
- grids: a sample grid of the quality run's RBM, and a class-conditional grid of a DBN
  trained with ``train-dbn`` on 1,000 images per class.

Prints one JSON line per result; the PNGs go to docs/images/.
"""

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import DOCS, fashion_folder, load_split

from ganaug_cli.config import RbmConfig
from ganaug_cli.imaging import save_grid
from ganaug_cli.metrics.ais import ais_log_partition, base_rates
from ganaug_cli.metrics.likelihood import log_likelihood
from ganaug_cli.models.rbm import RBM
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.loop import BatchPlan, batch_indices
from ganaug_cli.training.rbm import RbmTrainer

HIDDEN, BATCH, SKLEARN_LR = 500, 100, 0.05
IMAGES = DOCS / "images"


def report(**values) -> dict:
    print(json.dumps(values), flush=True)
    return values


def binarised(split: str, count: int) -> torch.Tensor:
    images, _ = load_split(split)
    return torch.from_numpy((images[:count].reshape(count, -1) > 127).astype(np.uint8) * 255)  # uint8 0/255


def ganaug_trainer(images: torch.Tensor, **train) -> RbmTrainer:
    config = RbmConfig.model_validate(
        {"model": {"hidden": HIDDEN, "labels": False}, "train": {"batch_size": BATCH, **train}, "eval": {"val_fraction": 0}}
    )
    trainer = RbmTrainer(config, DataInfo(1, 28, ["all"], [len(images)]), torch.device("cpu"))
    trainer.hold_out(images.reshape(-1, 1, 28, 28), torch.zeros(len(images), dtype=torch.long))
    return trainer


def sklearn_rbm(**kwargs):
    from sklearn.neural_network import BernoulliRBM

    return BernoulliRBM(n_components=HIDDEN, batch_size=BATCH, learning_rate=SKLEARN_LR, random_state=0, **kwargs)


def speed(epochs: int) -> dict:
    images = binarised("train", 10_000)
    x = images.float().div_(255)
    n = len(x)
    per_epoch = math.ceil(n / BATCH)
    labels = torch.zeros(n, dtype=torch.long)

    # Floor: the five products of a PCD-1 step (up, down, up, two gradient outer products).
    W = torch.randn(784, HIDDEN) * 0.01
    v, h = x[:BATCH].clone(), torch.rand(BATCH, HIDDEN)
    grad = torch.empty(784, HIDDEN)

    def floor_epoch():
        for _ in range(per_epoch):
            torch.mm(v, W)
            torch.mm(h, W.t())
            torch.mm(v, W)
            torch.mm(v.t(), h, out=grad)
            grad.addmm_(v.t(), h)

    sklearn_style = dict(method="pcd", k=1, lr=SKLEARN_LR, momentum_start=0.0, momentum_end=0.0, weight_decay=0.0)
    trainer = ganaug_trainer(images, **sklearn_style)
    batches = [x[batch_indices(labels, s, BATCH, 0, False)].reshape(-1, 1, 28, 28) for s in range(per_epoch)]
    stored = images.reshape(-1, 1, 28, 28)
    plan = BatchPlan(labels, BATCH, 0, False)
    loop_steps = iter(range(10**9))

    def step_epoch():
        for batch in batches:
            float(trainer.train_step(batch, labels[:BATCH])["recon_error"])

    def loop_epoch():  # the shared loop's hot path: gather uint8 rows of a fresh permutation, convert, step
        for _ in range(per_epoch):
            index = plan.indices(next(loop_steps))
            float(trainer.train_step(stored[index].float().div_(255), labels[index])["recon_error"])

    # The three alternate epoch by epoch, so a busy moment of the machine hits all of them;
    # each is summarised by its median epoch.
    timings = {"floor": [], "step": [], "loop": []}
    floor_epoch(), step_epoch(), loop_epoch()  # warm-up
    for _ in range(epochs):
        for name, run in (("floor", floor_epoch), ("step", step_epoch), ("loop", loop_epoch)):
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    floor, ganaug_step, ganaug_loop = (statistics.median(timings[k]) for k in ("floor", "step", "loop"))

    data = x.numpy()
    sklearn_rbm(n_iter=1).fit(data)  # warm-up
    start = time.perf_counter()
    sklearn_rbm(n_iter=epochs).fit(data)
    sklearn = (time.perf_counter() - start) / epochs
    return report(
        part="speed", epochs=epochs, threads=torch.get_num_threads(), floor_s=round(floor, 4),
        ganaug_train_step_s=round(ganaug_step, 4), ganaug_loop_path_s=round(ganaug_loop, 4), sklearn_s=round(sklearn, 4),
        ganaug_vs_sklearn=round(ganaug_step / sklearn, 3), ganaug_vs_floor=round(ganaug_step / floor, 3),
        loop_path_vs_sklearn=round(ganaug_loop / sklearn, 3), loop_path_vs_floor=round(ganaug_loop / floor, 3),
    )


def profile_step(steps: int = 100) -> None:
    """Where a ``train_step`` spends its time (torch.profiler), and what the random source saves."""
    from torch.profiler import ProfilerActivity, profile

    from ganaug_cli.models.random_bits import FastRandom
    from ganaug_cli.models.rbm import bernoulli

    images = binarised("train", 10_000)
    x = images.float().div_(255)
    labels = torch.zeros(BATCH, dtype=torch.long)
    trainer = ganaug_trainer(images, method="pcd", k=1, lr=SKLEARN_LR, momentum_start=0.0, momentum_end=0.0,
                             weight_decay=0.0)
    batches = [x[i * BATCH : (i + 1) * BATCH].reshape(-1, 1, 28, 28) for i in range(steps)]
    for batch in batches:  # warm-up
        trainer.train_step(batch, labels)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            trainer.train_step(batch, labels)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), flush=True)

    def microseconds(work, reps=400) -> float:
        for _ in range(20):
            work()
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(reps):
                work()
            runs.append((time.perf_counter() - start) / reps * 1e6)
        return round(statistics.median(runs), 1)

    hidden, visible, source = torch.rand(BATCH, HIDDEN), torch.rand(BATCH, 784), FastRandom(0)
    report(part="profile", steps=steps, **{
        "bernoulli_hidden_torch_us": microseconds(lambda: bernoulli(hidden, None)),
        "bernoulli_hidden_sfc64_us": microseconds(lambda: bernoulli(hidden, source)),
        "bernoulli_visible_torch_us": microseconds(lambda: bernoulli(visible, None)),
        "bernoulli_visible_sfc64_us": microseconds(lambda: bernoulli(visible, source)),
    })


def test_log_likelihood(rbm: RBM, test: torch.Tensor, base: torch.Tensor, betas: int, chains: int) -> dict:
    start = time.perf_counter()
    estimate = ais_log_partition(rbm, betas=betas, chains=chains, base_bias=base, generator=torch.Generator().manual_seed(0))
    log_p = log_likelihood(rbm, test, estimate.log_z)
    return {
        "log_z": round(estimate.log_z, 3), "log_z_std": round(estimate.std, 3),
        "test_log_p": round(log_p.mean().item(), 3), "ais_s": round(time.perf_counter() - start, 1),
    }


def quality(seconds: float, betas: int, chains: int) -> RBM:
    images = binarised("train", 10_000)
    test = binarised("test", 10_000).float() / 255
    base = base_rates(images.float() / 255)
    n = len(images)
    per_epoch = math.ceil(n / BATCH)
    labels = torch.zeros(n, dtype=torch.long)

    torch.manual_seed(0)
    trainer = ganaug_trainer(images)  # the schema's defaults
    stored = images.reshape(-1, 1, 28, 28)
    plan = BatchPlan(labels, BATCH, 0, False)
    step, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        index = plan.indices(step)
        float(trainer.train_step(stored[index].float() / 255, labels[index])["recon_error"])
        step += 1
    ganaug_time = time.perf_counter() - start
    ours = report(part="quality", model="ganaug", train_s=round(ganaug_time, 1), epochs=round(step / per_epoch, 2),
                  recipe=trainer.config.train.model_dump(include={"method", "k", "lr", "momentum_start", "momentum_end",
                                                                 "momentum_switch_epoch", "weight_decay"}),
                  **test_log_likelihood(trainer.rbm, test, base, betas, chains))

    data = (images.float() / 255).numpy()
    probe = time.perf_counter()
    sklearn_rbm(n_iter=1).fit(data)
    epochs = max(1, int(seconds / (time.perf_counter() - probe)))  # as many epochs as fit in the budget
    model = sklearn_rbm(n_iter=epochs)
    start = time.perf_counter()
    model.fit(data)
    sklearn_time = time.perf_counter() - start
    theirs = RBM([1, 28, 28], HIDDEN, "bernoulli", False, 0, 1, 1, 1)
    theirs.W.copy_(torch.from_numpy(model.components_.T.copy()))
    theirs.b_v.copy_(torch.from_numpy(model.intercept_visible_))
    theirs.b_h.copy_(torch.from_numpy(model.intercept_hidden_))
    other = report(part="quality", model="sklearn", train_s=round(sklearn_time, 1), epochs=epochs, lr=SKLEARN_LR,
                   **test_log_likelihood(theirs, test, base, betas, chains))
    report(part="quality", ganaug_minus_sklearn_nats=round(ours["test_log_p"] - other["test_log_p"], 3))
    return trainer.rbm


def grids(rbm: RBM | None, dbn_epochs: int) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    if rbm is not None:
        save_grid(rbm.sample(64, None, torch.Generator().manual_seed(0)), IMAGES / "rbm-samples.png", nrow=8)
        save_grid(rbm.filters(64), IMAGES / "rbm-filters.png", nrow=8)
    from ganaug_cli.sampling import load_sampling_model
    from ganaug_cli.runs import latest_checkpoint
    from ganaug_cli.training.session import train_family

    work = Path(tempfile.mkdtemp(prefix="ganaug-dbn-"))
    os.environ["GANAUG_CACHE_DIR"] = str(work / "cache")
    folder = fashion_folder(work / "fmnist-10k", per_class=1000)
    start = time.perf_counter()
    flags = {"data.path": ("--data", str(folder)), "train.epochs": ("--epochs", dbn_epochs), "train.seed": ("--seed", 0),
             "train.device": ("--device", "cpu")}
    run = train_family("dbn", flags=flags, sets=["model.binarize=threshold"], out=work / "dbn-run")
    trained = time.perf_counter() - start
    loaded = load_sampling_model(latest_checkpoint(run), torch.device("cpu"))
    labels = torch.arange(10).repeat_interleave(10)
    start = time.perf_counter()
    images = loaded.model.sample(100, labels, torch.Generator().manual_seed(0))
    save_grid(images, IMAGES / "dbn-classes.png", nrow=10)
    report(part="grids", dbn_layers=loaded.model.args["layers"], dbn_epochs_per_layer=dbn_epochs,
           dbn_train_s=round(trained, 1), dbn_sample_100_s=round(time.perf_counter() - start, 1),
           classes=loaded.class_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["speed", "profile", "quality", "grids", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per contestant (speed)")
    parser.add_argument("--seconds", type=float, default=60, help="training budget per model (quality)")
    parser.add_argument("--ais-betas", type=int, default=10_000)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--dbn-epochs", type=int, default=5, help="epochs per DBN layer (grids)")
    args = parser.parse_args()
    with torch.no_grad():
        if args.part in ("speed", "all"):
            speed(args.epochs)
        if args.part == "profile":
            profile_step()
        rbm = quality(args.seconds, args.ais_betas, args.ais_chains) if args.part in ("quality", "all") else None
        if args.part in ("grids", "all"):
            grids(rbm, args.dbn_epochs)


if __name__ == "__main__":
    main()
