"""Do ganaug's synthetic images help a classifier trained on a small Fashion-MNIST folder?

For 10, 20 and 100 real images per class: a GAN trained for a fixed CPU budget per
size (RBM and DBN at 20 per class only, with a fixed number of epochs); four arms — real only; real + classical
augmentation; real + synthetic; real + classical + synthetic — with synthetic shares
of 0.2 and 0.5 of each batch and confidence filters of 0 and 0.9; classifier accuracy
on the 10k test images, mean ± std over 3 seeds; plus eval's metrics for each
synthetic set. Results and a plot go to docs/benchmarks.md and docs/images/.

This measures synthetic images added by hand. The product path, `ganaug augment` with its
defaults choosing the share itself, is benchmarks/augment_product.py: its section heads the
augmentation results in docs/benchmarks.md, and this script's sections follow as the earlier
experiments.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py            # about 90 minutes on 2 cores
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py --smoke    # minutes: checks the script runs, writes no docs
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py --render docs/augmentation-results.json  # docs only
    .venv/bin/python benchmarks/augmentation_fashion_mnist.py --sizes 20 --families rbm dbn --section augmentation-boltzmann
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

from common import CLASS_NAMES, DOCS, fashion_folder, load_split, read_class_folder, resize32, write_section

from ganaug_cli.metrics.classifier import predict, train_classifier

GANAUG = [sys.executable, "-m", "ganaug_cli"]
# 32×32 like the GAN. Ten images per Gibbs chain, 100 steps apart after the schema's burn-in,
# make the filtered sets (up to 20 draws per image) several times cheaper to sample.
BOLTZMANN_SETTINGS = ["--set", "data.resolution=32", "--set", "sample.images_per_chain=10", "--set", "sample.thinning=100"]
# At 20 images per class an epoch is 2 updates, so the schema's 20 epochs would be 40 updates.
# These plans (3,000 updates; 600 per DBN layer) end within the time cap, so the learning rate
# completes its decay; AIS runs once, at the end (eval.ais_every below), as only the samples count here.
BOLTZMANN_EPOCHS = {"rbm": 1500, "dbn": 300}
BOLTZMANN_MINUTES = 6.0


def test_set(limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_split("test")
    return resize32(images[:limit]), torch.from_numpy(labels[:limit].astype(np.int64))


def ganaug(*args: str) -> str:
    result = subprocess.run([*GANAUG, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    return result.stdout


def synthetic_set(run: Path, out: Path, per_class: int, confidence: float) -> Path:
    """Sample ``per_class`` images per class; with a filter, a class may end up with fewer."""
    args = ["sample", "--run", run, "--per-class", per_class, "--seed", 0, "--out", out, "--quiet"]
    if confidence > 0:
        args += ["--min-confidence", confidence, "--allow-fewer"]
    ganaug(*args)
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
    parser.add_argument("--families", nargs="+", choices=["gan", "rbm", "dbn"], default=["gan", "rbm", "dbn"],
                        help="model families to train (rbm and dbn at 20 per class only)")
    parser.add_argument("--section", default="augmentation-preliminary",
                        help="docs section (and plot name) a reduced run writes")
    parser.add_argument("--render", type=Path, help="only rewrite the docs from a results.json of an earlier run")
    args = parser.parse_args()
    if args.render:
        write_results(json.loads(args.render.read_text()))
        return
    smoke = args.smoke
    sizes = args.sizes or ([10, 20] if smoke else [10, 20, 100])
    gan_minutes, boltzmann_minutes = (0.2, 0.1) if smoke else (args.gan_minutes or 10.0, BOLTZMANN_MINUTES)
    seeds = tuple(range(args.seeds or (1 if smoke else 3)))
    families_asked = [f for f in args.families if not (args.no_boltzmann and f != "gan")]
    reduced = any(x is not None for x in (args.sizes, args.gan_minutes, args.seeds)) or len(families_asked) < 3
    train_options = {"width": 16, "min_steps": 20 if smoke else 300, "epochs": 1 if smoke else 30}
    per_class_synthetic = 20 if smoke else 100
    test = test_set(500 if smoke else 10_000)
    arms, sets, started = [], [], time.time()
    for size in sizes:
        real_dir = fashion_folder(args.work / f"real-{size}", per_class=size)
        real, labels = read_class_folder(real_dir)
        for augment, arm in (("none", "real only"), ("classical", "real + classical")):
            scores = accuracy_runs(real, labels, test, None, 0, augment, seeds, train_options)
            arms.append({"size": size, "model": None, "arm": arm, "filter": None, "share": None, "scores": scores})
        families = [(f, gan_minutes if f == "gan" else boltzmann_minutes) for f in families_asked if f == "gan" or size == 20]
        for family, minutes in families:
            try:
                evaluate_family(family, minutes, size, real_dir, real, labels, test, seeds, train_options,
                                per_class_synthetic, args.work, arms, sets)
            except (RuntimeError, ValueError) as exc:  # one family's failure must not lose the other results
                sets.append({"size": size, "model": family, "filter": None, "counts": [0] * 10, "metrics": None,
                             "failed": str(exc)})
            save(args.work, arms, sets, started, smoke, reduced, per_class_synthetic, args.section)
    write_results(save(args.work, arms, sets, started, smoke, reduced, per_class_synthetic, args.section))


def save(work, arms, sets, started, smoke, reduced, per_class_synthetic, section) -> dict:
    """results.json after every model, so a late failure keeps what was measured (see --render)."""
    results = {"arms": arms, "sets": sets, "minutes": (time.time() - started) / 60, "smoke": smoke,
               "reduced": reduced, "command": " ".join(sys.argv[1:]), "per_class_synthetic": per_class_synthetic,
               "section": section}
    work.mkdir(parents=True, exist_ok=True)
    (work / "results.json").write_text(json.dumps(results, indent=1))
    return results


def evaluate_family(family, minutes, size, real_dir, real, labels, test, seeds, train_options, per_class_synthetic,
                    work, arms, sets) -> None:
    run = work / f"run-{family}-{size}-{int(time.time())}"
    budget = ["--steps", 1_000_000] if family == "gan" else [
        *BOLTZMANN_SETTINGS, "--epochs", BOLTZMANN_EPOCHS[family] if minutes >= 1 else 2]
    if family == "rbm":
        budget += ["--set", "eval.ais_every=1000000"]
    ganaug(f"train-{family}", "--data", real_dir, "--out", run, "--max-minutes", minutes, "--seed", 0,
           "--device", "cpu", "--quiet", *budget)
    for confidence in (0.0, 0.9):
        folder = synthetic_set(run, run / f"samples-{confidence}", per_class_synthetic, confidence)
        counts = [len(list((folder / name).glob("*.png"))) for name in CLASS_NAMES]
        sets.append({"size": size, "model": family, "filter": confidence, "counts": counts, "metrics": None})
        if not sum(counts):
            continue  # nothing passed the filter: no set to train with
        synthetic = read_class_folder(folder)
        sets[-1]["metrics"] = json.loads(ganaug("eval", "--samples", folder, "--data", real_dir, "--json", "--quiet"))
        for share in (0.2, 0.5):
            for augment, arm in (("none", "real + synthetic"), ("classical", "real + classical + synthetic")):
                scores = accuracy_runs(real, labels, test, synthetic, share, augment, seeds, train_options)
                arms.append({"size": size, "model": family, "arm": arm, "filter": confidence, "share": share,
                             "scores": scores})


def best(arms: list[dict], size: int, synthetic: bool) -> dict:
    chosen = [a for a in arms if a["size"] == size and (a["model"] is not None) == synthetic]
    return max(chosen, key=lambda a: statistics.mean(a["scores"]))


def describe(arm: dict) -> str:
    if arm["model"] is None:
        return arm["arm"]
    return f"{arm['model']}, {arm['arm']}, filter {arm['filter']}, share {arm['share']}"


def verdicts(arms: list[dict]) -> list[str]:
    """One line per size: the better synthetic arm against the better arm without synthetic images."""
    lines = []
    for size in sorted({a["size"] for a in arms}):
        without, with_ = best(arms, size, False), best(arms, size, True)
        gain = statistics.mean(with_["scores"]) - statistics.mean(without["scores"])
        word = "beats" if gain > 0 else "does not beat"
        lines.append(f"- {size} per class: the best synthetic arm ({describe(with_)}, {fmt(with_['scores'])}) {word} "
                     f"the best arm without synthetic images ({describe(without)}, {fmt(without['scores'])}): "
                     f"{100 * gain:+.1f} points.")
    return lines


def plot(arms: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({a["size"] for a in arms})
    height = max(len([a for a in arms if a["size"] == s]) for s in sizes)
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 0.32 * height + 1.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        chosen = [a for a in arms if a["size"] == size]
        labels = [describe(a).replace("real + ", "+").replace(", share", ", sh") for a in chosen]
        means = [100 * statistics.mean(a["scores"]) for a in chosen]
        stds = [100 * statistics.pstdev(a["scores"]) for a in chosen]
        colours = ["tab:gray" if a["model"] is None else "tab:orange" if a["filter"] else "tab:blue" for a in chosen]
        ax.barh(range(len(chosen)), means, xerr=stds, color=colours)
        ax.axvline(max(m for m, a in zip(means, chosen) if a["model"] is None), color="k", ls="--", lw=1)
        ax.set_yticks(range(len(chosen)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(min(means) - 5, max(means) + 3)
        ax.set_title(f"{size} real images per class")
        ax.set_xlabel("test accuracy (%)")
    fig.suptitle("grey: no synthetic images; blue: unfiltered samples; orange: filter 0.9; dashed: best grey")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_results(results: dict) -> None:
    arms, sets, smoke, reduced = results["arms"], results["sets"], results["smoke"], results["reduced"]
    name = results.get("section", "augmentation-preliminary") if reduced else "augmentation"
    title = "## Does synthetic data help? Fashion-MNIST with few images per class"
    lines = [
        title + (" (smoke run)" if smoke else " (reduced, preliminary run)" if reduced else ""),
        "",
        "Measured with `" + f".venv/bin/python benchmarks/augmentation_fashion_mnist.py {results['command']}".rstrip()
        + f"` ({results['minutes']:.0f} minutes on 2 CPU cores). Classifier: the small CNN of "
        "`ganaug_cli/metrics/classifier.py` (width 16); accuracy on the Fashion-MNIST test images, mean ± std over "
        f"the seeds. Each synthetic set asks for {results['per_class_synthetic']} images per class; with the 0.9 "
        "filter (`sample --min-confidence 0.9 --allow-fewer`) a class keeps what passed within 20 draws per image.",
        "",
        *verdicts(arms),
        "",
        f"![test accuracy of every arm](images/{name}.png)",
        "",
        "| real per class | model | arm | filter | synthetic share | test accuracy |",
        "| ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for a in arms:
        cells = (a["size"], a["model"] or "—", a["arm"], a["filter"] if a["model"] else "—",
                 a["share"] if a["model"] else "—", fmt(a["scores"]))
        lines.append(f"| {' | '.join(str(c) for c in cells)} |")
    lines += ["", "| real per class | model | filter | images kept | FID | KID | precision | recall | near-copies | class fidelity |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in sets:
        m = s["metrics"]
        if m is None:
            why = f"failed: {s['failed']}" if "failed" in s else "no image passed the filter"
            lines.append(f"| {s['size']} | {s['model']} | {s['filter']} | 0 | {why} |" + " |" * 5)
            continue
        fidelity = f"{m['class_fidelity']:.1%}" if "class_fidelity" in m else "— (not every class kept)"
        lines.append(f"| {s['size']} | {s['model']} | {s['filter']} | {sum(s['counts'])} (min {min(s['counts'])}/class) | "
                     f"{m['fid']:.3f} | {m['kid_mean']:.4f} | {m['precision']:.2f} | {m['recall']:.2f} | "
                     f"{m['copies']:.1%} | {fidelity} |")
    if smoke:  # smoke numbers only show that the script runs; they are not results
        plot(arms, Path(tempfile.gettempdir()) / "augmentation-smoke.png")
    else:
        plot(arms, DOCS / "images" / f"{name}.png")
        write_section(name, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
