"""What each of augment's techniques does for a classifier, one row each, on one trained model.

For each size (real images per class of Fashion-MNIST) one model is trained on the whole real
folder (`train-gan --max-minutes M --seed 0`, `--family dae` for train-dae, or an earlier run
given with --run SIZE=RUN); near-real rows need a GAN and are left out for other families.
Each technique then makes a synthetic set of the same size (a share of the files, 0.3 by
default), added to the real files; classifiers trained uniformly over those files (ganaug's
judge CNN, width 16, and an MLP sharing no code with ganaug; with --classical also with
classical augmentation; 3 seeds) are scored on the 10k test images. Each set is also described by an
oracle (the MLP trained on 6,000 other training images): the share of samples it puts in
their own class, and the set's diversity (mean pixel distance between two samples of a class,
over that of two real images of the class).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_techniques.py --sizes 20
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_techniques.py --smoke   # minutes, writes no docs
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
from judges import fmt, independent_mlp, scores

from ganaug_cli.metrics.classifier import predict
from ganaug_cli.metrics.domain import domain_classifier
from ganaug_cli.workflows.share_check import synthetic_per_class

GANAUG = [sys.executable, "-m", "ganaug_cli"]
RESULTS = DOCS / "augment-techniques-results.json"
FILTERS = ["--min-confidence", "0.5", "--reject-duplicates", "--allow-fewer"]  # augment's default filters
# name -> ganaug sample's flags ("relabel": drawn unfiltered, then the teacher decides each label)
TECHNIQUES = {
    "fresh noise, unfiltered": [],
    "fresh noise, confidence filter 0.5": ["--min-confidence", "0.5", "--allow-fewer"],
    "fresh noise, augment's filters (confidence 0.5, no near-duplicates)": FILTERS,
    "fresh noise, teacher relabels (drops under 0.5)": "relabel",
    "near-real r=0.5, unfiltered": ["--near-real", "--near-radius", "0.5"],
    "near-real r=0.5, augment's filters": ["--near-real", "--near-radius", "0.5", *FILTERS],
    "near-real r=1, augment's filters": ["--near-real", "--near-radius", "1", *FILTERS],
}


def ganaug(*args) -> str:
    result = subprocess.run([*GANAUG, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    return result.stdout


def relabelled(run: Path, real_dir: Path, out: Path, per_class: int, real, real_labels, work: Path):
    """Unfiltered samples, three per wanted image; the teacher (the domain classifier, as augment
    trains it on the real folder) labels each, dropping those under 0.5; the first per class kept."""
    ganaug("sample", "--run", run, "--per-class", 3 * per_class, "--seed", 0, "--out", out, "--quiet")
    pool, _ = read_class_folder(out)
    teacher = domain_classifier(real, real_labels, list(CLASS_NAMES), work / "teacher")
    confidence, labels = predict(teacher, pool).max(dim=1)
    chosen = [torch.nonzero((labels == c) & (confidence >= 0.5)).squeeze(1)[:per_class] for c in range(10)]
    index = torch.cat(chosen)
    return pool[index], labels[index]


def diversity(images: torch.Tensor, labels: torch.Tensor) -> dict[int, float]:
    """Mean pixel distance between two images of a class, per class with two or more."""
    x = images.float().flatten(1) / 255
    result = {}
    for c in labels.unique().tolist():
        members = x[labels == c]
        if len(members) > 1:
            result[c] = float(torch.pdist(members).mean())
    return result


def describe(synthetic, labels, real, real_labels, oracle) -> dict:
    with torch.no_grad():
        fidelity = float((oracle(synthetic.float() / 255).argmax(1) == labels).float().mean()) if len(labels) else 0.0
    own, theirs = diversity(synthetic, labels), diversity(real, real_labels)
    ratio = statistics.mean(own[c] / theirs[c] for c in own) if own else 0.0
    return {"images": len(labels), "min_per_class": min(int((labels == c).sum()) for c in range(10)),
            "oracle_fidelity": round(fidelity, 4), "diversity_ratio": round(ratio, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--share", type=float, default=0.3, help="synthetic share of the files")
    parser.add_argument("--minutes", type=float, default=10.0, help="the GAN's --max-minutes")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--run", action="append", default=[], help="SIZE=RUN: an earlier run to use for SIZE")
    parser.add_argument("--family", default="gan", help="the model family to train (train-FAMILY)")
    parser.add_argument("--gan-set", action="append", default=[], help="KEY=VALUE for the training's --set (a technique)")
    parser.add_argument("--only", nargs="+", type=int, help="numbers of the techniques to run (1 = the first)")
    parser.add_argument("--classical", action="store_true", help="also train every classifier with classical augmentation")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check the script end to end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-techniques")
    args = parser.parse_args()
    given = {int(size): Path(run) for size, run in (item.split("=", 1) for item in args.run)}
    seeds = range(1 if args.smoke else args.seeds)
    cnn_options = {"width": 16, "min_steps": 20 if args.smoke else 300, "epochs": 1 if args.smoke else 30}
    images, labels = load_split("test")
    limit = 500 if args.smoke else 10_000
    test = (resize32(images[:limit]), torch.from_numpy(labels[:limit].astype(np.int64)))
    oracle = train_oracle(args.smoke)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and not args.smoke else {"sizes": {}}
    for size in args.sizes:
        real_dir = fashion_folder(args.work / f"real-{size}", per_class=size)
        real, real_labels = read_class_folder(real_dir)
        run = given.get(size) or args.work / f"gan-{size}-{int(time.time())}"
        if size not in given:
            settings = [part for item in args.gan_set for part in ("--set", item)]
            ganaug(f"train-{args.family}", "--data", real_dir, "--out", run, "--max-minutes", 0.2 if args.smoke else args.minutes,
                   "--seed", 0, "--device", "cpu", "--quiet", *settings)
        per_class = synthetic_per_class(size, args.share)
        entry = {"run": str(run), "share": args.share, "per_class": per_class, "command": " ".join(sys.argv[1:]),
                 "gan": ", ".join(args.gan_set) or "defaults", "family": args.family,
                 "rows": [measure("real only", real, real_labels, test, seeds, cnn_options, args.classical)]}
        chosen = [(name, flags) for i, (name, flags) in enumerate(TECHNIQUES.items(), 1) if not args.only or i in args.only]
        if args.family != "gan":  # near-real sampling inverts a generator: GAN runs only
            chosen = [(name, flags) for name, flags in chosen if "--near-real" not in flags]
        for name, flags in chosen:
            out = args.work / f"set-{size}-{len(entry['rows'])}-{int(time.time())}"
            started = time.perf_counter()
            if flags == "relabel":
                synthetic, synthetic_labels = relabelled(run, real_dir, out, per_class, real, real_labels, args.work)
            else:
                ganaug("sample", "--run", run, "--per-class", per_class, "--seed", 0, "--out", out, "--data", real_dir,
                       "--quiet", *flags)
                synthetic, synthetic_labels = read_class_folder(out)
            seconds = time.perf_counter() - started
            row = measure(name, torch.cat([real, synthetic]), torch.cat([real_labels, synthetic_labels]), test, seeds,
                          cnn_options, args.classical)
            row.update(describe(synthetic, synthetic_labels, real, real_labels, oracle), sample_seconds=round(seconds, 1))
            entry["rows"].append(row)
            print(json.dumps(row), flush=True)
        label = entry["gan"] if args.family == "gan" else f"{args.family}: {entry['gan']}"
        results["sizes"][str(size) if label == "defaults" else f"{size} {label}"] = entry
        if not args.smoke:
            RESULTS.write_text(json.dumps(results, indent=1))
            write_section("augment-techniques", render(results, args.minutes))


def train_oracle(smoke: bool):
    """The independent MLP on 600 training images per class that no small folder uses (the last ones)."""
    images, labels = load_split("train")
    labels = labels.astype(np.int64)
    per_class = 50 if smoke else 600
    index = np.concatenate([np.nonzero(labels == c)[0][-per_class:] for c in range(10)])
    return independent_mlp(resize32(images[index]), torch.from_numpy(labels[index]), seed=0, augment=False)


def measure(name, images, labels, test, seeds, cnn_options, classical: bool) -> dict:
    row = {"technique": name}
    for classifier in ("cnn", "mlp"):
        for augment in (False, True) if classical else (False,):
            row[f"{classifier}{'+classical' if augment else ''}"] = scores(images, labels, test, seeds, classifier,
                                                                          augment, cnn_options)
    return row


COLUMNS = {"cnn": "CNN", "cnn+classical": "CNN + classical", "mlp": "MLP", "mlp+classical": "MLP + classical"}


def render(results: dict, minutes: float) -> str:
    lines = [
        "## Each technique on its own: one GAN per size, one synthetic set per technique",
        "",
        "Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_techniques.py` (arguments "
        f"below). One conditional model per size (a GAN unless the heading names another family), trained on the whole real folder for {minutes:g} minutes (seed 0); "
        "each technique adds the same number of synthetic files; classifiers (ganaug's judge CNN, width 16, and an "
        "MLP sharing no code with ganaug) are trained uniformly over real + synthetic files and scored on the 10k test images (mean ± std over 3 seeds; gain against real only in "
        "points). Oracle fidelity: the share of synthetic images an independent MLP trained on 6,000 other real "
        "images puts in their own class. Diversity: mean pixel distance between two samples of a class over that "
        "between two real images of the class (1 = as varied as the real images).",
        "",
    ]
    for key, entry in sorted(results["sizes"].items(), key=lambda item: (int(item[0].split()[0]), item[0])):
        size, gan = key.split()[0], entry.get("gan", "defaults")
        family = {"gan": "GAN", "dae": "DAE"}.get(entry.get("family", "gan"), entry.get("family"))
        columns = [c for c in COLUMNS if c in entry["rows"][0]]
        lines += [f"**{size} real images per class, {family}: {gan}**; {entry['per_class']} synthetic per class (share "
                  f"{entry['share']:g}); `{entry['command']}`", "",
                  "| technique | " + " | ".join(COLUMNS[c] for c in columns) + " | oracle fidelity | diversity | synthetic files |",
                  "| --- |" + " ---: |" * (len(columns) + 3)]
        base = entry["rows"][0]
        for row in entry["rows"]:
            cells = []
            for column in columns:
                gain = 100 * (statistics.mean(row[column]) - statistics.mean(base[column]))
                cells.append(fmt(row[column]) + ("" if row is base else f" ({gain:+.1f})"))
            extra = (f"{row['oracle_fidelity']:.0%} | {row['diversity_ratio']:.2f} | {row['images']} "
                     f"(min {row['min_per_class']}/class)") if row is not base else "— | — | 0"
            lines.append(f"| {row['technique']} | {' | '.join(cells)} | {extra} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
