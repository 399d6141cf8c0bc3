"""RBM criteria at equal wall-clock time: CD, PCD, ratio matching and NCE on binarised
Fashion-MNIST, and score matching against CD on real-valued images (issue 15).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_criteria.py [--arms pcd nce ...] [--seconds 60]
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_criteria.py --part flip-speed   # seconds
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_criteria.py --part nce-probe    # 3 minutes

Data as in rbm_vs_sklearn.py's quality part: the first 10,000 training images (binarised at
0.5 for the binary arms, pixel intensities for the Gaussian ones), 500 hidden units, no label
units, batch 100, every other setting the schema's default for the criterion. Each arm plans
its steps from a 10-batch probe so that its learning rate decays over the budget, then
trains for the budget. Test log-likelihood: the same AIS code for every arm (10,000
temperatures, 100 chains) on the 10,000 test images; for the Gaussian arms a density of
pixels in [0, 1]. NCE's learned log Z is printed beside AIS's. Grids of 100 samples (the
default Gibbs chains) go to docs/images/rbm-criteria-ARM.png; results to
docs/rbm-criteria-results.json and docs/benchmarks.md (section rbm-criteria) after every arm.
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import torch
from common import DOCS, load_split, write_section
from rbm_vs_sklearn import BATCH, HIDDEN, train_for

from ganaug_cli.config import RbmConfig
from ganaug_cli.imaging import save_grid
from ganaug_cli.models.rbm import RBM
from ganaug_cli.models.rbm_objectives import ratio_matching
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.rbm import RbmTrainer

TRAIN_IMAGES = 10_000
RESULTS = DOCS / "rbm-criteria-results.json"
ARMS = {  # arm -> (criterion, visible units)
    "pcd": ("pcd", "bernoulli"),
    "cd": ("cd", "bernoulli"),
    "ratio-matching": ("ratio-matching", "bernoulli"),
    "nce": ("nce", "bernoulli"),
    "gaussian-cd": ("cd", "gaussian"),
    "gaussian-pcd": ("pcd", "gaussian"),
    "score-matching": ("score-matching", "gaussian"),
    "gaussian-nce": ("nce", "gaussian"),
}


def images_of(split: str, binary: bool) -> torch.Tensor:
    images, _ = load_split(split)
    images = images[:TRAIN_IMAGES].copy()
    if binary:
        images = (images > 127).astype(np.uint8) * 255
    return torch.from_numpy(images).reshape(-1, 1, 28, 28)


def trainer_for(criterion: str, visible: str, images: torch.Tensor, steps: int, betas: int, chains: int) -> RbmTrainer:
    model = {"hidden": HIDDEN, "labels": False, "visible": visible}
    if visible == "bernoulli":
        model["binarize"] = "threshold"  # the images are binary already; the criteria need it said
    config = RbmConfig.model_validate({
        "model": model, "train": {"batch_size": BATCH, "criterion": criterion, "epochs": None, "steps": steps},
        "eval": {"val_fraction": 0, "ais_betas": betas, "ais_chains": chains},
    })
    trainer = RbmTrainer(config, DataInfo(1, 28, ["all"], [len(images)]), torch.device("cpu"))
    trainer.hold_out(images, torch.zeros(len(images), dtype=torch.long))
    return trainer


def measure(arm: str, seconds: float, betas: int, chains: int, grids: bool) -> dict:
    criterion, visible = ARMS[arm]
    images, test = images_of("train", visible == "bernoulli"), images_of("test", visible == "bernoulli")
    per_epoch = math.ceil(len(images) / BATCH)
    probe = trainer_for(criterion, visible, images, 10, betas, chains)
    started = time.perf_counter()
    train_for(probe, images, 10, math.inf)
    planned = max(1, int(seconds / ((time.perf_counter() - started) / 10)))  # steps: the rate decays over them
    torch.manual_seed(0)
    trainer = trainer_for(criterion, visible, images, planned, betas, chains)
    started = time.perf_counter()
    steps = train_for(trainer, images, planned, seconds)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    with torch.no_grad():
        scores = trainer.likelihood(trainer.visible.evaluation(test), "test", seed=0)
    ais_seconds = time.perf_counter() - started
    generator = torch.Generator().manual_seed(0)
    samples = trainer.rbm.sample(100, None, generator, **trainer.sample_options())
    if grids:
        save_grid(samples, DOCS / "images" / f"rbm-criteria-{arm}.png", nrow=10)
    return {"criterion": criterion, "visible": visible, "lr": trainer.config.train.lr,
            "planned_epochs": round(planned / per_epoch, 2),
            "epochs": round(steps / per_epoch, 2), "train_s": round(trained, 1),
            "epoch_s": round(trained / (steps / per_epoch), 2), "ais_s": round(ais_seconds, 1), **scores,
            "command": " ".join(sys.argv[1:])}


def flip_speed(repeats: int = 5) -> dict:
    """Seconds per ratio-matching gradient of one batch (100 × 784 units, 500 hidden): autograd on
    the plain formula, which keeps the N×P×H softplus tensor, against the chunked hand-written backward."""
    torch.manual_seed(0)
    rbm = RBM([784], HIDDEN, "bernoulli", False, 0)
    rbm.W.normal_(0, 0.05)
    v = (torch.rand(BATCH, 784) < 0.3).float()
    parameters = [rbm.W, rbm.b_v, rbm.b_h]
    for p in parameters:
        p.requires_grad_(True)

    def plain():
        a, sign = rbm.hidden_input(v), 1 - 2 * v
        flipped = torch.nn.functional.softplus(a[:, None, :] + sign[:, :, None] * rbm.W).sum(2)
        gaps = -sign * rbm.b_v - (flipped - torch.nn.functional.softplus(a).sum(1, keepdim=True))
        return torch.sigmoid(-gaps).pow(2).sum(1).mean()

    timings = {}
    for name, loss in (("autograd", plain), ("hand-written", lambda: ratio_matching(rbm, v))):
        torch.autograd.grad(loss(), parameters)
        started = time.perf_counter()
        for _ in range(repeats):
            torch.autograd.grad(loss(), parameters)
        timings[name] = round((time.perf_counter() - started) / repeats, 3)
    return timings


def nce_probe(seconds: float = 30, images_scored: int = 2000) -> dict:
    """NCE's learning rate and noise ratio, 30 s each (AIS with 2,000 temperatures and 50 chains
    on the first 2,000 test images), beside the log-likelihood of the noise model itself."""
    images, test = images_of("train", True), images_of("test", True)[:images_scored]
    x = test.float().flatten(1) / 255
    rate = ((images.float().flatten(1) / 255).sum(0) + 1) / (len(images) + 2)  # FactorialNoise's smoothing
    probe = {"noise_log_p": round((x @ rate.log() + (1 - x) @ torch.log1p(-rate)).mean().item(), 1), "runs": []}
    for lr, ratio in [(0.003, 4), (0.01, 4), (0.03, 4), (0.01, 16)]:
        torch.manual_seed(0)
        trainer = trainer_for("nce", "bernoulli", images, 3000, 2000, 50)
        trainer.config.train = trainer.learner.train = trainer.config.train.model_copy(
            update={"lr": lr, "nce_noise_ratio": ratio})
        steps = train_for(trainer, images, 3000, seconds)
        with torch.no_grad():
            scores = trainer.likelihood(trainer.visible.evaluation(test), "test", seed=0)
        probe["runs"].append({"lr": lr, "noise_ratio": ratio, "steps": steps, **scores})
        print(json.dumps(probe["runs"][-1]), flush=True)
    return probe


def render(results: dict) -> str:
    lines = [
        "## RBM criteria at equal time: CD, PCD, ratio matching, score matching and NCE",
        "",
        "Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_criteria.py` on 2 CPU cores. "
        "Each arm trains an RBM with 500 hidden units on the first 10,000 Fashion-MNIST training images (batch 100, "
        "no label units, the schema's defaults for its criterion, `train.lr: auto`) for the same budget, with its "
        "steps planned from a 10-batch probe so that the learning rate decays over the budget. Then the same AIS "
        "code (10,000 temperatures, 100 chains) estimates log Z, and the mean test log p(v) is taken over the "
        "10,000 test images. Binary arms: images binarised at 0.5, nats per image. Gaussian arms: pixel "
        "intensities, a density of pixels in [0, 1] (the pixels' standardisation is part of the model; constant "
        "border pixels make these numbers large and positive, so compare them only with each other).",
        "",
        "| arm | criterion | visible | lr | epochs in budget | s per epoch | AIS log Z (± std) | NCE's log Z "
        "| test log p(v) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm, r in results["arms"].items():
        learned = f"{r['nce_log_z']:.1f}" if "nce_log_z" in r else "—"
        lines.append(f"| {arm} | {r['criterion']} | {r['visible']} | {r['lr']:g} | {r['epochs']:g} "
                     f"({r['train_s']:.0f} s) | {r['epoch_s']:.2f} | {r['ais_log_z']:.1f} ± {r['ais_log_z_std']:.2f} "
                     f"| {learned} | {r['test_log_p']:.1f} |")
    if "flip_speed" in results:
        speed = results["flip_speed"]
        lines += ["", f"Ratio matching's cost is its N×P×H tensor of flipped hidden inputs: one gradient of a batch of "
                  f"100 takes {speed['hand-written']:.2f} s with the chunked hand-written backward of "
                  f"`models/rbm_objectives.py` against {speed['autograd']:.2f} s by autograd on the plain formula "
                  "(`--part flip-speed`)."]
    if "nce_probe" in results:
        probe = results["nce_probe"]
        lines += ["", f"NCE's settings (`--part nce-probe`: 30 s each, AIS with 2,000 temperatures and 50 chains on the "
                  f"first 2,000 test images). The noise model alone (the pixels' base rates) scores "
                  f"{probe['noise_log_p']:.1f} nats there.", "",
                  "| lr | noise ratio | steps | AIS log Z | NCE's log Z | test log p(v) |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {r['lr']:g} | {r['noise_ratio']} | {r['steps']} | {r['ais_log_z']:.1f} | {r['nce_log_z']:.1f} "
                  f"| {r['test_log_p']:.1f} |" for r in probe["runs"]]
    lines += ["", "Samples (100 default Gibbs chains from the data's mean image, no labels), one grid per arm:", ""]
    lines += [f"![{arm} samples](images/rbm-criteria-{arm}.png)" for arm in results["arms"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ais-betas", type=int, default=10_000)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes; writes no docs")
    parser.add_argument("--part", choices=["arms", "flip-speed", "nce-probe", "all"], default="all")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.ais_betas, args.ais_chains = 2, 50, 10
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and not args.smoke else {"arms": {}}
    if args.part in ("flip-speed", "all"):
        results["flip_speed"] = flip_speed(1 if args.smoke else 5)
        print(json.dumps({"part": "flip-speed", **results["flip_speed"]}), flush=True)
        if not args.smoke:
            RESULTS.write_text(json.dumps(results, indent=1))
    if args.part == "nce-probe":  # not in all: it only explains the nce row
        results["nce_probe"] = nce_probe(2 if args.smoke else 30, 200 if args.smoke else 2000)
        if not args.smoke:
            RESULTS.write_text(json.dumps(results, indent=1))
            write_section("rbm-criteria", render(results))
    for arm in args.arms if args.part in ("arms", "all") else []:
        entry = measure(arm, args.seconds, args.ais_betas, args.ais_chains, grids=not args.smoke)
        print(json.dumps({"arm": arm, **entry}), flush=True)
        if not args.smoke:
            results["arms"][arm] = entry
            RESULTS.write_text(json.dumps(results, indent=1))
            write_section("rbm-criteria", render(results))


if __name__ == "__main__":
    main()
