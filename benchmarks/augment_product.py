"""What `ganaug augment` with its defaults does for a classifier trained on what it writes.

For each size (real images per class of Fashion-MNIST): `ganaug augment --data DIR --out X
--max-minutes M` with every other option at its default (held-out check included), timed;
then classifiers trained uniformly over X's files, and over the real folder alone, with and
without classical augmentation, a few seeds each, scored on the 10k test images. Two
classifiers: the benchmark CNN (ganaug's judge architecture, width 16) and an MLP that
shares no code with ganaug, so a gain is not one classifier's quirk. Results go to
docs/benchmarks.md (section augment-product) and docs/augment-product-results.json after
every size, with a plot in docs/images/augment-product.png (matplotlib: the bench extra).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_product.py --sizes 20
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_product.py --smoke   # minutes, writes no docs
    .venv/bin/python benchmarks/augment_product.py --render   # the section and plot from the JSON only
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

from common import DOCS, fashion_folder, load_split, read_class_folder, resize32, write_section
from judges import fmt, scores


GANAUG = [sys.executable, "-m", "ganaug_cli"]
RESULTS = DOCS / "augment-product-results.json"


def run_augment(real_dir: Path, out: Path, minutes: float, smoke: bool) -> tuple[float, dict]:
    extra = ["--check-seeds", "1", "--check-share", "0.5"] if smoke else []
    start = time.perf_counter()
    command = [*GANAUG, "augment", "--data", real_dir, "--out", out, "--max-minutes", minutes, "--seed", 0,
               "--device", "cpu", "--quiet", *extra]
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    return time.perf_counter() - start, json.loads((out / "augment-report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 100])
    parser.add_argument("--minutes", type=float, default=10.0, help="augment's --max-minutes")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check the script end to end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-product")
    parser.add_argument("--render", action="store_true", help="rebuild the section and plot from the results file")
    args = parser.parse_args()
    if args.render:
        write_docs(json.loads(RESULTS.read_text()), args.minutes)
        return
    minutes = 0.2 if args.smoke else args.minutes
    seeds = range(1 if args.smoke else args.seeds)
    cnn_options = {"width": 16, "min_steps": 20 if args.smoke else 300, "epochs": 1 if args.smoke else 30}
    images, labels = load_split("test")
    limit = 500 if args.smoke else 10_000
    test = (resize32(images[:limit]), torch.from_numpy(labels[:limit].astype(np.int64)))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and not args.smoke else {"sizes": {}}
    for size in args.sizes:
        real_dir = fashion_folder(args.work / f"real-{size}", per_class=size)
        out = args.work / f"augmented-{size}-{int(time.time())}"
        seconds, report = run_augment(real_dir, out, minutes, args.smoke)
        real, real_labels = read_class_folder(real_dir)
        folder, folder_labels = read_class_folder(out)
        rows = []
        for classifier in ("cnn", "mlp"):
            for augment in (False, True):
                alone = scores(real, real_labels, test, seeds, classifier, augment, cnn_options)
                # A folder without synthetic files holds exactly the real images: same data, same seeds, same scores.
                same = torch.equal(folder, real) and torch.equal(folder_labels, real_labels)
                ours = alone if same else scores(folder, folder_labels, test, seeds, classifier, augment, cnn_options)
                rows += [{"classifier": classifier, "classical": augment, "arm": "real only", "scores": alone},
                         {"classifier": classifier, "classical": augment, "arm": "augment's folder", "scores": ours}]
        results["sizes"][str(size)] = {"augment_seconds": round(seconds, 1), "report": report, "rows": rows,
                                       "command": " ".join(sys.argv[1:])}
        if not args.smoke:
            RESULTS.write_text(json.dumps(results, indent=1))
            write_docs(results, args.minutes)
        print(json.dumps(results["sizes"][str(size)], indent=1))


def write_docs(results: dict, minutes: float) -> None:
    write_section("augment-product", render(results, minutes))
    plot(results, DOCS / "images" / "augment-product.png")


def plot(results: dict, path: Path) -> None:
    """Test accuracy per size: real only and augment's folder, each classifier with and without classical aug."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results["sizes"], key=int)
    fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.2), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        by_key = {(r["classifier"], r["classical"], r["arm"]): r["scores"] for r in results["sizes"][size]["rows"]}
        groups = [(c, a) for c in ("cnn", "mlp") for a in (False, True)]
        for offset, (arm, colour) in enumerate((("real only", "tab:gray"), ("augment's folder", "tab:blue"))):
            scores = [by_key[(c, a, arm)] for c, a in groups]
            ax.bar([i + 0.4 * offset for i in range(len(groups))], [100 * statistics.mean(v) for v in scores], 0.4,
                   yerr=[100 * statistics.pstdev(v) for v in scores], color=colour, label=arm)
        ax.set_xticks([i + 0.2 for i in range(len(groups))],
                      [f"{c.upper()}{' + classical' if a else ''}" for c, a in groups], fontsize=7)
        low = min(100 * min(v) for v in by_key.values())
        ax.set_ylim(low - 5, None)
        ax.set_title(f"{size} real images per class")
        ax.set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(results: dict, minutes: float) -> str:
    lines = [
        "## `ganaug augment` with its defaults, as a user runs it",
        "",
        f"Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/augment_product.py --sizes SIZE` "
        f"(`ganaug augment --data DIR --out X --max-minutes {minutes:g} --seed 0`, every other option at its "
        "default, on 2 CPU cores). Classifiers are trained uniformly over the files of X (or of the real folder "
        "alone) and scored on the 10k Fashion-MNIST test images, mean ± std over 3 seeds: the CNN is ganaug's judge "
        "architecture (width 16), the MLP shares no code with ganaug.",
        "",
        "| real per class | augment's time | share chosen | synthetic files | classifier | classical aug. | real only | augment's folder | gain |",
        "| ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for size, entry in sorted(results["sizes"].items(), key=lambda item: int(item[0])):
        check = entry["report"].get("share_check") or {}
        synthetic = sum(entry["report"]["synthetic"].values())
        by_key = {(r["classifier"], r["classical"], r["arm"]): r["scores"] for r in entry["rows"]}
        for classifier in ("cnn", "mlp"):
            for augment in (False, True):
                real, ours = by_key[(classifier, augment, "real only")], by_key[(classifier, augment, "augment's folder")]
                gain = 100 * (statistics.mean(ours) - statistics.mean(real))
                lines.append(f"| {size} | {entry['augment_seconds'] / 60:.1f} min | {check.get('chosen_share', '—')} | "
                             f"{synthetic} | {classifier} | {'yes' if augment else 'no'} | {fmt(real)} | {fmt(ours)} | "
                             f"{gain:+.1f} |")
    lines += ["", "![test accuracy: real images alone and augment's folder](images/augment-product.png)", "",
              "What the held-out check measured (accuracy on the held-out real images, mean ± std):", ""]
    for size, entry in sorted(results["sizes"].items(), key=lambda item: int(item[0])):
        check = entry["report"].get("share_check")
        if check:
            trials = ", ".join(f"{t['share']:g}: {t['mean']:.1%} ± {t['std']:.1%}" for t in check["trials"])
            lines.append(f"- {size} per class: {trials}. {check['reason'][0].upper()}{check['reason'][1:]}.")
        else:
            lines.append(f"- {size} per class: no check ({entry['report'].get('note')}).")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
