"""GAN on 100 real Fashion-MNIST images per class, 32×32, a fixed CPU budget.

Reports training speed (images/s), class fidelity (a classifier trained on other
real Fashion-MNIST images labels the samples), diversity, and a nearest-neighbour
check that samples are not copies of the training images. Writes a grid to
docs/images/ and a section of docs/benchmarks.md.

    .venv/bin/python benchmarks/gan_fashion_mnist.py --minutes 10
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import CLASS_NAMES, DOCS, fashion_folder, load_split, read_class_folder, resize32, write_section

from ganaug_cli.imaging import save_grid
from ganaug_cli.metrics.classifier import DomainClassifier, predict, train_classifier

GANAUG = [sys.executable, "-m", "ganaug_cli"]


def nearest_distances(queries: torch.Tensor, references: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
    q = queries.float().flatten(1) / 255
    r = references.float().flatten(1) / 255
    d = torch.cdist(q, r)
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


def mean_pairwise(images: torch.Tensor) -> float:
    x = images.float().flatten(1) / 255
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def other_images_judge(folder: Path, cache: Path) -> DomainClassifier:
    """A classifier trained on 10k *other* real training images (none of ``folder``'s), cached."""
    if cache.exists():
        judge = DomainClassifier(1, 10)
        judge.load_state_dict(torch.load(cache, weights_only=True))
        return judge.eval()
    all_images, all_labels = load_split("train")
    used = set()
    for name in CLASS_NAMES:
        used |= {int(p.stem.split("-")[1]) for p in (folder / name).glob("*.png")}
    rest = np.array([i for i in range(len(all_labels)) if i not in used])[:10000]
    judge = train_classifier(resize32(all_images[rest]), torch.from_numpy(all_labels[rest].astype(np.int64)), 10,
                             epochs=4, batch_size=128)
    torch.save(judge.state_dict(), cache)
    return judge


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-gan")
    parser.add_argument("--extra", nargs="*", default=[], help="extra train-gan arguments")
    parser.add_argument("--reuse", type=Path, help="score this finished benchmark run instead of training")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    work = args.work
    folder = fashion_folder(work / "fmnist-100", per_class=100)
    run = args.reuse or work / f"run-{int(time.time())}"
    command = [*GANAUG, "train-gan", "--data", str(folder), "--out", str(run), "--max-minutes", str(args.minutes),
               "--steps", "1000000", "--seed", "0", "--device", "cpu", "--quiet", *args.extra]
    if args.reuse is None:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics_file = run / "metrics.jsonl"
    train_seconds = metrics_file.stat().st_mtime - (run / "config.yaml").stat().st_mtime
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = metrics[-1]["step"]
    rate = float(np.mean([m["images_per_s"] for m in metrics]))
    samples_dir = run / "bench-samples"
    subprocess.run([*GANAUG, "sample", "--run", str(run), "--per-class", "100", "--seed", "0",
                    "--out", str(samples_dir), "--quiet", "--overwrite"], check=True)
    fake, fake_labels = read_class_folder(samples_dir)
    real, real_labels = read_class_folder(folder)

    judge = other_images_judge(folder, work / "judge.pt")
    test_images, test_labels = load_split("test")
    test_acc = float((predict(judge, resize32(test_images)).argmax(1) == torch.from_numpy(test_labels.astype(np.int64))).float().mean())
    fidelity = (predict(judge, fake).argmax(1) == fake_labels).float()
    real_fidelity = float((predict(judge, real).argmax(1) == real_labels).float().mean())
    per_class = [float(fidelity[fake_labels == c].mean()) for c in range(10)]

    # Diversity within classes, samples vs real.
    diversity = np.mean([mean_pairwise(fake[fake_labels == c]) / mean_pairwise(real[real_labels == c]) for c in range(10)])

    # Copies: sample->nearest training image vs held-out real->nearest training image (pixel space).
    held_out = resize32(test_images[:1000])
    real_nn = nearest_distances(held_out, real)
    fake_nn = nearest_distances(fake, real)
    threshold = float(torch.quantile(real_nn, 0.05))
    copies = float((fake_nn < threshold).float().mean())

    grid_rows = torch.cat([fake[fake_labels == c][:10] for c in range(10)]).float() / 255
    grid_path = DOCS / "images" / "gan_fashion_mnist_grid.png"
    save_grid(grid_rows, grid_path, nrow=10)

    lines = [
        "## GAN on Fashion-MNIST, 100 images per class, CPU",
        "",
        f"`ganaug train-gan` with the default config at 32×32 on 1,000 real images (100 per class), "
        f"{args.minutes:g} minutes on {os.cpu_count()} CPU cores, seed 0"
        + (f", extra arguments `{' '.join(args.extra)}`" if args.extra else "")
        + ". Measured with `.venv/bin/python benchmarks/gan_fashion_mnist.py"
        + (f" --minutes {args.minutes:g}" if args.minutes != 10 else "")
        + (f" --extra {' '.join(args.extra)}" if args.extra else "") + "`"
        + (" (this table scored an earlier run of it again with `--reuse RUN_FOLDER`)" if args.reuse else "") + ".",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| steps in the budget (batch 64) | {steps} |",
        f"| training speed | {rate:.0f} images/s ({rate / 64:.2f} steps/s) |",
        f"| wall-clock from run start to last metrics line | {train_seconds:.0f} s |",
        f"| class fidelity: judge's accuracy on 1,000 conditional samples | {float(fidelity.mean()):.1%} |",
        f"| the same judge on the 1,000 real training images | {real_fidelity:.1%} |",
        f"| the judge on the 10k real test images | {test_acc:.1%} |",
        f"| within-class diversity, samples ÷ real (mean pairwise L2) | {diversity:.2f} |",
        f"| samples closer to a training image than 95% of held-out real images are | {copies:.1%} |",
        "",
        "Per-class fidelity: " + ", ".join(f"{n} {a:.0%}" for n, a in zip(CLASS_NAMES, per_class)) + ".",
        "",
        "The judge is a small CNN (`ganaug_cli/metrics/classifier.py`) trained on 10,000 other real "
        "Fashion-MNIST training images, never on the GAN's 1,000. The copy check compares each sample's "
        "nearest training image (pixel L2) with the same distance for 1,000 held-out real test images: a "
        "GAN that memorised would put many samples below the held-out images' 5th percentile.",
        "",
        "![GAN samples, one row per class](images/gan_fashion_mnist_grid.png)",
        "",
        "Rows, top to bottom: " + ", ".join(CLASS_NAMES) + ".",
    ]
    write_section("gan-fashion-mnist", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
