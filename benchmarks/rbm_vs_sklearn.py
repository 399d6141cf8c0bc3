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
- profile (not in all): torch.profiler's per-op table of 100 ``train_step`` calls;
  micro-timings of Bernoulli sampling with torch's generator and with numpy's SFC64, and of
  gathering a batch by indexing and by ``index_select``; the step's products on its own
  buffers against the floor's.
- grids: a sample grid of the quality run's RBM; class-conditional grids of an RBM and a DBN
  trained with ``train-rbm`` / ``train-dbn`` on 1,000 images per class, and the class
  fidelity of their samples (a judge CNN's accuracy on them), with and without the chain
  start at the class's mean image and the learning-rate decay; for the default models, the
  class fidelity and the spread within each class (mean distance between two samples) of
  the same chains stopped after 1 to 3,000 Gibbs steps.

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
from common import CLASS_NAMES, DOCS, fashion_folder, load_split, microseconds

from ganaug_cli.config import GibbsOptions, RbmConfig
from ganaug_cli.imaging import save_grid
from ganaug_cli.metrics.classifier import predict, train_classifier
from ganaug_cli.models.rbm_partition import ais_log_partition, base_rates
from ganaug_cli.models.rbm_likelihood import log_likelihood
from ganaug_cli.models.rbm import RBM
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.loop import BatchPlan, batch_indices
from ganaug_cli.training.rbm import RbmTrainer

HIDDEN, BATCH, SKLEARN_LR = 500, 100, 0.05
BURN_INS = (1, 10, 30, 100, 300, 1000, 3000)  # grids: Gibbs steps before the scored samples
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


def train_for(trainer: RbmTrainer, images: torch.Tensor, steps: int, budget: float) -> int:
    """Up to ``steps`` shuffled batches of uint8 ``images`` (N×1×28×28) within ``budget`` seconds;
    returns the steps taken."""
    labels = torch.zeros(len(images), dtype=torch.long)
    plan = BatchPlan(labels, BATCH, 0, False)
    step, start = 0, time.perf_counter()
    while step < steps and time.perf_counter() - start < budget:
        index = plan.indices(step)
        float(trainer.train_step(images[index].float() / 255, labels[index])["recon_error"])
        step += 1
    return step


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

    sklearn_style = dict(criterion="pcd", k=1, lr=SKLEARN_LR, momentum_start=0.0, momentum_end=0.0, weight_decay=0.0)
    trainer = ganaug_trainer(images, **sklearn_style)
    batches = [x[batch_indices(labels, s, BATCH, 0, False)].reshape(-1, 1, 28, 28) for s in range(per_epoch)]
    stored = images.reshape(-1, 1, 28, 28)
    plan = BatchPlan(labels, BATCH, 0, False)
    loop_steps = iter(range(10**9))

    def step_epoch():
        for batch in batches:
            float(trainer.train_step(batch, labels[:BATCH])["recon_error"])

    def loop_epoch():  # the shared loop's hot path (training/loop.py): gather uint8 rows, convert, step
        for _ in range(per_epoch):
            index = plan.indices(next(loop_steps))
            batch = torch.index_select(stored, 0, index).float().div_(255)
            float(trainer.train_step(batch, labels[index])["recon_error"])

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

    from ganaug_cli.random_sources import FastRandom
    from ganaug_cli.models.rbm import bernoulli

    images = binarised("train", 10_000)
    x = images.float().div_(255)
    labels = torch.zeros(BATCH, dtype=torch.long)
    trainer = ganaug_trainer(images, criterion="pcd", k=1, lr=SKLEARN_LR, momentum_start=0.0, momentum_end=0.0,
                             weight_decay=0.0)
    batches = [x[i * BATCH : (i + 1) * BATCH].reshape(-1, 1, 28, 28) for i in range(steps)]
    for batch in batches:  # warm-up
        trainer.train_step(batch, labels)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            trainer.train_step(batch, labels)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), flush=True)

    hidden, visible, source = torch.rand(BATCH, HIDDEN), torch.rand(BATCH, 784), FastRandom(0)
    stored, index = images.reshape(-1, 1, 28, 28), torch.randperm(len(images))[:BATCH]
    report(part="profile", steps=steps, **{
        "bernoulli_hidden_torch_us": microseconds(lambda: bernoulli(hidden, None)),
        "bernoulli_hidden_sfc64_us": microseconds(lambda: bernoulli(hidden, source)),
        "bernoulli_visible_torch_us": microseconds(lambda: bernoulli(visible, None)),
        "bernoulli_visible_sfc64_us": microseconds(lambda: bernoulli(visible, source)),
        "gather_batch_indexing_us": microseconds(lambda: stored[index].float().div_(255)),
        "gather_batch_index_select_us": microseconds(lambda: torch.index_select(stored, 0, index).float().div_(255)),
        **products_against_floor(trainer, x),
    })


def products_against_floor(trainer: RbmTrainer, x: torch.Tensor, epochs: int = 7) -> dict:
    """The step's three products on its own buffers (down, the stacked up-product of data and
    model, the stacked update) against the floor's five, alternating 100-batch epochs;
    medians, in ms per batch."""
    learner, n = trainer.learner, BATCH
    b, packed = learner.buffers, learner.packed
    W, v, h = torch.randn(784, HIDDEN) * 0.01, x[:n].clone(), torch.rand(n, HIDDEN)
    grad = torch.empty(784, HIDDEN)

    def floor():
        for _ in range(100):
            torch.mm(v, W), torch.mm(h, W.t()), torch.mm(v, W)
            torch.mm(v.t(), h, out=grad)
            grad.addmm_(v.t(), h)

    def step_products():  # alpha is tiny, not 0: BLAS skips the product when alpha is 0
        for _ in range(100):
            torch.mm(b.chain, b.down, out=b.logits), torch.mm(b.visible, b.up, out=b.probabilities)
            packed.addmm_(b.visible_t, b.hidden, alpha=1e-30)

    times = {"floor": [], "step": []}
    for _ in range(epochs):
        for name, run in (("floor", floor), ("step", step_products)):
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 10)
    floor_ms, step_ms = statistics.median(times["floor"]), statistics.median(times["step"])
    return {"floor_products_ms": round(floor_ms, 3), "step_products_ms": round(step_ms, 3),
            "step_products_vs_floor": round(step_ms / floor_ms, 3)}


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

    stored = images.reshape(-1, 1, 28, 28)

    def train_steps(trainer: RbmTrainer, steps: int, budget: float) -> int:
        return train_for(trainer, stored, steps, budget)

    # Like sklearn below, ganaug plans as many epochs as a one-epoch probe says fit in the
    # budget: its learning rate decays to 0 over the planned epochs.
    probe = time.perf_counter()
    train_steps(ganaug_trainer(images), per_epoch, math.inf)
    planned = max(1, int(seconds / (time.perf_counter() - probe)))
    torch.manual_seed(0)
    trainer = ganaug_trainer(images, epochs=planned)  # otherwise the schema's defaults
    start = time.perf_counter()
    step = train_steps(trainer, planned * per_epoch, seconds)
    ganaug_time = time.perf_counter() - start
    ours = report(part="quality", model="ganaug", train_s=round(ganaug_time, 1), epochs=round(step / per_epoch, 2),
                  planned_epochs=planned,
                  recipe=trainer.config.train.model_dump(include={"criterion", "k", "lr", "lr_decay", "momentum_start",
                                                                 "momentum_end", "momentum_switch_epoch", "weight_decay"}),
                  **test_log_likelihood(trainer.rbm, test, base, betas, chains))

    data = (images.float() / 255).numpy()
    probe = time.perf_counter()
    sklearn_rbm(n_iter=1).fit(data)
    epochs = max(1, int(seconds / (time.perf_counter() - probe)))  # as many epochs as fit in the budget
    model = sklearn_rbm(n_iter=epochs)
    start = time.perf_counter()
    model.fit(data)
    sklearn_time = time.perf_counter() - start
    theirs = RBM([1, 28, 28], HIDDEN, "bernoulli", False, 0)
    theirs.W.copy_(torch.from_numpy(model.components_.T.copy()))
    theirs.b_v.copy_(torch.from_numpy(model.intercept_visible_))
    theirs.b_h.copy_(torch.from_numpy(model.intercept_hidden_))
    other = report(part="quality", model="sklearn", train_s=round(sklearn_time, 1), epochs=epochs, lr=SKLEARN_LR,
                   **test_log_likelihood(theirs, test, base, betas, chains))
    report(part="quality", ganaug_minus_sklearn_nats=round(ours["test_log_p"] - other["test_log_p"], 3))
    return trainer.rbm


def fidelity_judge() -> torch.nn.Module:
    """A small CNN trained on the last 10k training images (the folders below use the first ones)."""
    images, labels = load_split("train")
    with torch.enable_grad():
        return train_classifier(torch.from_numpy(images[-10_000:].copy())[:, None],
                                torch.from_numpy(labels[-10_000:].astype(np.int64)), 10, epochs=5)


def class_fidelity(judge, images: torch.Tensor, names: list[str], labels: torch.Tensor) -> float:
    truth = torch.tensor([CLASS_NAMES.index(names[i]) for i in labels])
    return float((predict(judge, images).argmax(1) == truth).float().mean())


def class_spread(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean distance between two samples of the same class (pixels in [0, 1]): how varied they are."""
    spreads = []
    for c in labels.unique():
        x = images[labels == c].flatten(1).float()
        spreads.append(torch.cdist(x, x).sum() / (len(x) * (len(x) - 1)))
    return float(torch.stack(spreads).mean())


def burn_in_sweep(loaded, judge, labels: torch.Tensor, family: str) -> None:
    """Class fidelity and spread of the same chains stopped after different burn-ins."""
    for burn_in in BURN_INS:
        options = {**loaded.sample_options, "burn_in": burn_in}
        images = loaded.model.sample(len(labels), labels, torch.Generator().manual_seed(0), **options)
        report(part="burn-in", family=family, burn_in=burn_in, spread=round(class_spread(images, labels), 3),
               class_fidelity=round(class_fidelity(judge, images, loaded.class_names, labels), 3))


def grids(rbm: RBM | None, epochs: int, per_class: int) -> None:
    """Sample grids, and how well ``sample --class`` controls the class of RBM and DBN samples.

    Both families train with their defaults (labels in the visible or top layer, binarised at
    0.5) on 1,000 images per class; each model is then sampled the old way too (chains from
    uniform noise, and a constant learning rate), to show what the chain start and decay do.
    """
    IMAGES.mkdir(parents=True, exist_ok=True)
    if rbm is not None:
        gibbs = GibbsOptions().model_dump()
        save_grid(rbm.sample(64, None, torch.Generator().manual_seed(0), **gibbs), IMAGES / "rbm-samples.png", nrow=8)
        save_grid(rbm.filters(64), IMAGES / "rbm-filters.png", nrow=8)
    from ganaug_cli.runs import latest_checkpoint
    from ganaug_cli.sampling import load_sampling_model
    from ganaug_cli.families import FAMILIES
    from ganaug_cli.workflows.train import train_family

    work = Path(tempfile.mkdtemp(prefix="ganaug-classes-"))
    os.environ["GANAUG_CACHE_DIR"] = str(work / "cache")
    folder = fashion_folder(work / "fmnist-10k", per_class=1000)
    judge = fidelity_judge()
    labels = torch.arange(10).repeat_interleave(per_class)
    for family in ("rbm", "dbn"):
        for decay in ("linear", "none"):
            start = time.perf_counter()
            flags = {"data.path": ("--data", str(folder)), "train.epochs": ("--epochs", epochs),
                     "train.seed": ("--seed", 0), "train.device": ("--device", "cpu")}
            sets = ["model.binarize=threshold", f"train.lr_decay={decay}"]
            run = train_family(FAMILIES[family], flags=flags, sets=sets, out=work / f"{family}-{decay}")
            trained = time.perf_counter() - start
            loaded = load_sampling_model(latest_checkpoint(run), torch.device("cpu"))
            top = loaded.model.rbms[-1] if family == "dbn" else loaded.model
            for chain_start in ("class mean", "uniform noise"):
                if chain_start == "uniform noise":
                    top.start_mean.copy_(top.uniform_start())
                start = time.perf_counter()
                images = loaded.model.sample(len(labels), labels, torch.Generator().manual_seed(0), **loaded.sample_options)
                report(part="grids", family=family, lr_decay=decay, chain_start=chain_start, epochs=epochs,
                       train_s=round(trained, 1), sample_s=round(time.perf_counter() - start, 1),
                       burn_in=loaded.sample_options["burn_in"],
                       class_fidelity=round(class_fidelity(judge, images, loaded.class_names, labels), 3))
                if decay == "linear" and chain_start == "class mean":  # the defaults
                    save_grid(images[:: per_class // 10], IMAGES / f"{family}-classes.png", nrow=10)
                    burn_in_sweep(loaded, judge, labels, family)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["speed", "profile", "quality", "grids", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per contestant (speed)")
    parser.add_argument("--seconds", type=float, default=60, help="training budget per model (quality)")
    parser.add_argument("--ais-betas", type=int, default=10_000)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--class-epochs", type=int, default=20, help="epochs (per layer for the DBN) of the grids part's models")
    parser.add_argument("--per-class", type=int, default=50, help="samples per class scored for class fidelity (grids)")
    args = parser.parse_args()
    with torch.no_grad():
        if args.part in ("speed", "all"):
            speed(args.epochs)
        if args.part == "profile":
            profile_step()
        rbm = quality(args.seconds, args.ais_betas, args.ais_chains) if args.part in ("quality", "all") else None
        if args.part in ("grids", "all"):
            grids(rbm, args.class_epochs, args.per_class)


if __name__ == "__main__":
    main()
