"""The generative families side by side on 100 real Fashion-MNIST images per class, 32×32,
the same CPU budget each: the GAN, and the denoising auto-encoder at one and at many noise levels.

For each arm: train (`--max-minutes M --seed 0`), time `ganaug sample -n 5000 --seed 0` with
the family's default sampler, then describe the 5,000 samples:
- class fidelity by an independent judge (the benchmark CNN trained on 10,000 other training
  images, shared with gan_fashion_mnist.py);
- feature distance to real test images: `ganaug eval --samples S --data TEST` (FID in the
  features of a classifier trained on 1,000 test images; lower is closer);
- near-copies: samples closer (pixel L2) to a training image than 95% of held-out real images
  are to their nearest training image, and eval's near-copy share against the training images;
- diversity within classes, samples over real (mean pairwise pixel distance).
Grids go to docs/images/families-ARM.png; results to docs/benchmarks.md (section
families-fashion-mnist) and docs/families-results.json after every arm.

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/families_fashion_mnist.py --arms dae-multi
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/families_fashion_mnist.py --smoke   # minutes, writes no docs
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import CLASS_NAMES, DOCS, fashion_folder, load_split, read_class_folder, resize32, write_section
from gan_fashion_mnist import mean_pairwise, nearest_distances, other_images_judge

from ganaug_cli.imaging import save_grid
from ganaug_cli.metrics.classifier import predict

GANAUG = [sys.executable, "-m", "ganaug_cli"]
RESULTS = DOCS / "families-results.json"
ARMS = {
    "gan": ["train-gan"],
    "dae-multi": ["train-dae"],
    "dae-single": ["train-dae", "--set", "model.noise=single"],
}


def ganaug(*args) -> str:
    result = subprocess.run([*GANAUG, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    return result.stdout


def measure_arm(arm: str, folder: Path, test_folder: Path, work: Path, minutes: float, n: int, judge,
                grids: Path) -> dict:
    run = work / f"{arm}-{int(time.time())}"
    ganaug(*ARMS[arm], "--data", folder, "--out", run, "--max-minutes", minutes, "--steps", 1_000_000, "--seed", 0,
           "--device", "cpu", "--quiet")
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    samples = run / "bench-samples"
    started = time.perf_counter()
    ganaug("sample", "--run", run, "-n", n, "--seed", 0, "--out", samples, "--quiet", "--device", "cpu")
    sample_seconds = time.perf_counter() - started
    fake, fake_labels = read_class_folder(samples)
    real, real_labels = read_class_folder(folder)
    correct = (predict(judge, fake).argmax(1) == fake_labels).float()
    report = json.loads(ganaug("eval", "--samples", samples, "--data", test_folder, "--json", "--quiet"))
    against_training = json.loads(ganaug("eval", "--samples", samples, "--data", folder, "--json", "--quiet"))
    test_images, _ = load_split("test")
    held_out = resize32(test_images[-1000:])  # not in the eval folder (the first test images)
    threshold = float(torch.quantile(nearest_distances(held_out, real), 0.05))
    copies = float((nearest_distances(fake, real) < threshold).float().mean())
    diversity = np.mean([mean_pairwise(fake[fake_labels == c]) / mean_pairwise(real[real_labels == c])
                         for c in range(10)])
    grid = torch.cat([fake[fake_labels == c][:10] for c in range(10)]).float() / 255
    save_grid(grid, grids / f"families-{arm}.png", nrow=10)
    return {"run": str(run), "steps": metrics[-1]["step"], "sample_seconds": round(sample_seconds, 1), "samples": n,
            "class_fidelity": round(float(correct.mean()), 4),
            "class_fidelity_per_class": [round(float(correct[fake_labels == c].mean()), 4) for c in range(10)],
            "fid_domain": report["fid"], "recall": report["recall"], "copies": round(copies, 4),
            "eval_copies": against_training["copies"], "diversity": round(float(diversity), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check the script end to end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-families")
    args = parser.parse_args()
    minutes, n = (0.1, 100) if args.smoke else (args.minutes, 5000)
    folder = fashion_folder(args.work / "fmnist-100", per_class=100)
    test_folder = fashion_folder(args.work / "test-100", per_class=100, split="test")
    judge = other_images_judge(folder, args.work / "judge.pt")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and not args.smoke else {"arms": {}}
    for arm in args.arms:
        grids = args.work if args.smoke else DOCS / "images"  # a smoke run leaves the docs alone
        results["arms"][arm] = {**measure_arm(arm, folder, test_folder, args.work, minutes, n, judge, grids),
                                "command": " ".join(sys.argv[1:])}
        print(json.dumps(results["arms"][arm]), flush=True)
        if not args.smoke:
            RESULTS.write_text(json.dumps(results, indent=1))
            write_section("families-fashion-mnist", render(results, args.minutes))


def render(results: dict, minutes: float) -> str:
    lines = [
        "## The families side by side: GAN and denoising auto-encoders, 100 images per class, CPU",
        "",
        "Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/families_fashion_mnist.py` "
        f"(`--arms` below): each arm trains {minutes:g} minutes on 2 CPU cores with its defaults (seed 0) on 1,000 "
        "real images, then `ganaug sample -n 5000 --seed 0` with the family's default sampler. Class fidelity: "
        "the benchmark's judge (trained on 10,000 other training images) on the samples. Feature distance: "
        "`ganaug eval --samples S --data TEST` against 1,000 test images (FID in a domain classifier's features; "
        "lower is closer; recall: the share of test images near some sample). Near-copies: samples closer (pixels) "
        "to a training image than 95% of 1,000 held-out real images are, and `ganaug eval`'s near-copy share "
        "against the training images. Diversity: mean pairwise pixel distance within a class, samples over real.",
        "",
        "| arm | steps | sampling 5,000 | class fidelity | feature distance | recall | near-copies (pixels / eval) "
        "| diversity |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm, entry in results["arms"].items():
        lines.append(f"| {arm} | {entry['steps']} | {entry['sample_seconds']:.0f} s | {entry['class_fidelity']:.1%} | "
                     f"{entry['fid_domain']:.3g} | {entry['recall']:.2f} | {entry['copies']:.1%} / "
                     f"{entry['eval_copies']:.1%} | {entry['diversity']:.2f} |")
    lines += ["", "Per-class fidelity (" + ", ".join(CLASS_NAMES) + "):", ""]
    for arm, entry in results["arms"].items():
        lines.append(f"- {arm}: " + ", ".join(f"{v:.0%}" for v in entry["class_fidelity_per_class"]) + ".")
    lines += [""] + [f"![{arm} samples, one row per class](images/families-{arm}.png)" for arm in results["arms"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
