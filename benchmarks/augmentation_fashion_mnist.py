"""Do ganaug's synthetic images help a classifier trained on a small Fashion-MNIST folder?

For 10, 20 and 100 real images per class: a GAN trained for a fixed CPU budget per
size (RBM and DBN at 20 per class only); four arms — real only; real + classical
augmentation; real + synthetic; real + classical + synthetic — with synthetic shares
of 0.2 and 0.5 of each batch and confidence filters of 0 and 0.9; classifier accuracy
on the 10k test images, mean ± std over 3 seeds; plus eval's metrics for each
synthetic set. Results and a plot go to docs/benchmarks.md and docs/images/.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py            # about 90 minutes on 2 cores
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py --smoke    # minutes: checks the script runs, writes no docs
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import fashion_folder, load_split, read_class_folder, resize32, write_section

from ganaug_cli.metrics.classifier import predict, train_classifier

GANAUG = [sys.executable, "-m", "ganaug_cli"]


def test_set(limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_split("test")
    return resize32(images[:limit]), torch.from_numpy(labels[:limit].astype(np.int64))


def ganaug(*args: str) -> str:
    result = subprocess.run([*GANAUG, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    return result.stdout


def synthetic_set(run: Path, out: Path, per_class: int, confidence: float) -> Path | str:
    args = ["sample", "--run", run, "--per-class", per_class, "--seed", 0, "--out", out, "--quiet"]
    if confidence > 0:
        args += ["--min-confidence", confidence]
    try:
        ganaug(*args)
    except RuntimeError as exc:
        return str(exc)
    return out


def accuracy_runs(real, labels, test, synthetic, share, augment, seeds, train_options) -> list[float]:
    scores = []
    for seed in seeds:
        model = train_classifier(real, labels, 10, seed=seed, augment=augment, synthetic=synthetic,
                                 synthetic_share=share if synthetic is not None else 0.0, **train_options)
        scores.append(float((predict(model, test[0]).argmax(1) == test[1]).float().mean()))
    return scores


def fmt(scores: list[float]) -> str:
    return f"{statistics.mean(scores):.1%} ± {statistics.pstdev(scores):.1%}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check the script end to end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-augment")
    parser.add_argument("--sizes", type=int, nargs="+", help="real images per class (default 10 20 100)")
    parser.add_argument("--gan-minutes", type=float, help="GAN training budget per size (default 10)")
    parser.add_argument("--seeds", type=int, help="classifier seeds per arm (default 3)")
    parser.add_argument("--no-boltzmann", action="store_true", help="skip the RBM and DBN at 20 per class")
    args = parser.parse_args()
    smoke = args.smoke
    sizes = args.sizes or ([10, 20] if smoke else [10, 20, 100])
    gan_minutes, boltzmann_minutes = (0.2, 0.1) if smoke else (args.gan_minutes or 10.0, 3.0)
    seeds = tuple(range(args.seeds or (1 if smoke else 3)))
    reduced = any(x is not None for x in (args.sizes, args.gan_minutes, args.seeds)) or args.no_boltzmann
    train_options = {"width": 16, "min_steps": 20 if smoke else 300, "epochs": 1 if smoke else 30}
    per_class_synthetic = 20 if smoke else 100
    test = test_set(500 if smoke else 10_000)
    rows, metric_rows, started = [], [], time.time()
    for size in sizes:
        real_dir = fashion_folder(args.work / f"real-{size}", per_class=size)
        real, labels = read_class_folder(real_dir)
        baseline = {aug: accuracy_runs(real, labels, test, None, 0, aug, seeds, train_options) for aug in ("none", "classical")}
        rows.append((size, "—", "real only", "—", "—", fmt(baseline["none"])))
        rows.append((size, "—", "real + classical", "—", "—", fmt(baseline["classical"])))
        boltzmann = size == 20 and not args.no_boltzmann
        families = [("gan", gan_minutes)] + ([("rbm", boltzmann_minutes), ("dbn", boltzmann_minutes)] if boltzmann else [])
        for family, minutes in families:
            run = args.work / f"run-{family}-{size}-{int(time.time())}"
            ganaug(f"train-{family}", "--data", real_dir, "--out", run, "--max-minutes", minutes, "--seed", 0,
                   "--device", "cpu", "--quiet", *(["--steps", 1_000_000] if family == "gan" else ["--set", "data.resolution=32"]))
            for confidence in (0.0, 0.9):
                folder = synthetic_set(run, run / f"samples-{confidence}", per_class_synthetic, confidence)
                if isinstance(folder, str):
                    rows.append((size, family, f"synthetic, filter {confidence}", "—", "—", f"not produced: {folder}"))
                    continue
                synthetic = read_class_folder(folder)
                metrics = json.loads(ganaug("eval", "--samples", folder, "--data", real_dir, "--json", "--quiet"))
                metric_rows.append((size, family, confidence, metrics))
                for share in (0.2, 0.5):
                    for augment, arm in (("none", "real + synthetic"), ("classical", "real + classical + synthetic")):
                        scores = accuracy_runs(real, labels, test, synthetic, share, augment, seeds, train_options)
                        rows.append((size, family, arm, confidence, share, fmt(scores)))
    minutes = (time.time() - started) / 60
    command = " ".join(sys.argv[1:])
    write_results(rows, metric_rows, minutes, smoke, reduced, command)


def write_results(rows, metric_rows, minutes, smoke, reduced, command) -> None:
    title = "## Does synthetic data help? Fashion-MNIST with few images per class"
    lines = [
        title + (" (smoke run)" if smoke else " (reduced, preliminary run)" if reduced else ""),
        "",
        "Measured with `" + f".venv/bin/python benchmarks/augmentation_fashion_mnist.py {command}".rstrip() + "` "
        f"({minutes:.0f} minutes on 2 CPU cores). Classifier: the small CNN of `ganaug_cli/metrics/classifier.py` "
        "(width 16); accuracy on the Fashion-MNIST test images, mean ± std over the seeds.",
        "",
        "| real per class | model | arm | filter | synthetic share | test accuracy |",
        "| ---: | --- | --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {' | '.join(str(c) for c in row)} |" for row in rows]
    lines += ["", "| real per class | model | filter | FID | KID | precision | recall | near-copies | class fidelity |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, family, confidence, m in metric_rows:
        lines.append(f"| {size} | {family} | {confidence} | {m['fid']:.3f} | {m['kid_mean']:.4f} | {m['precision']:.2f} | "
                     f"{m['recall']:.2f} | {m['copies']:.1%} | {m.get('class_fidelity', float('nan')):.1%} |")
    if not smoke:  # smoke numbers only show that the script runs; they are not results
        write_section("augmentation-preliminary" if reduced else "augmentation", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
