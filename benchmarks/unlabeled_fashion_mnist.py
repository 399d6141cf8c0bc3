"""What unlabelled images of the same domain add: 10 labelled Fashion-MNIST images per class and
5,000 unlabelled training images (their labels withheld: one flat folder).

Arms (each `--part` saves its rows as it ends):
- real: the labelled folder alone;
- pseudo: `ganaug augment --no-synthetic --unlabeled U` (pseudo-labels alone, no generator; the
  teacher learns from label spreading over all images);
- pseudo-labelled: the same with `--pseudo-teacher labelled` (a teacher trained on L alone);
- pseudo-unchecked: the same as pseudo with `--pseudo-share 0.98` (up to 49 pseudo-labelled
  images per labelled one, no check);
- augment: `ganaug augment --data L --max-minutes M` (the GAN from the labelled images alone);
- augment-unlabeled: `ganaug augment --data L --unlabeled U --max-minutes M`: a GAN whose
  discriminator also learns from the unlabelled images, and the pseudo-labelled ones, each kind
  through its own held-out check;
- init: a GAN trained M minutes on the unlabelled folder (unconditional), then
  `ganaug augment --data L --max-minutes M --set train.init=RUN` fine-tunes it on the labelled one.

Classifiers trained uniformly over the written folder's files, scored on the 10k test images,
3 seeds: the benchmark CNN (ganaug's judge architecture, width 16) and an MLP that shares no
code with ganaug. Results: docs/unlabeled-results.json and docs/benchmarks.md (section unlabeled).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/unlabeled_fashion_mnist.py --part real pseudo pseudo-labelled pseudo-unchecked
    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/unlabeled_fashion_mnist.py --part augment augment-unlabeled init --minutes 5
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from common import CLASS_NAMES, DOCS, fashion_folder, load_split, read_class_folder, resize32, write_section
from judges import fmt, scores

GANAUG = [sys.executable, "-m", "ganaug_cli"]
RESULTS = DOCS / "unlabeled-results.json"
PARTS = ("real", "pseudo", "pseudo-labelled", "pseudo-unchecked", "augment", "augment-unlabeled", "init")
LABELLED, UNLABELLED = 10, 5000


def unlabelled_folder(out: Path, labelled: Path, count: int) -> Path:
    """``count`` training images drawn at random (seed 0) among those not in the labelled folder, flat."""
    marker = out / ".complete"
    if marker.exists():
        return out
    images, _ = load_split("train")
    taken = {int(p.stem.split("-")[1]) for p in labelled.rglob("*.png")}
    pool = np.array([i for i in range(len(images)) if i not in taken])
    chosen = np.random.default_rng(0).choice(pool, size=count, replace=False)
    out.mkdir(parents=True, exist_ok=True)
    for position in sorted(chosen.tolist()):
        Image.fromarray(images[position], "L").save(out / f"unlabelled-{position:05d}.png", optimize=True)
    marker.write_text("ok")
    return out


def pretrained(args, unlabelled: Path) -> Path:
    """An unconditional GAN trained on the unlabelled folder for the same time (made once)."""
    run = args.work / f"pretrained-{args.minutes:g}"
    if not (run / "run.json").exists():
        shutil.rmtree(run, ignore_errors=True)
        command = [*GANAUG, "train-gan", "--data", unlabelled, "--out", run, "--max-minutes", args.minutes,
                   "--seed", 0, "--device", "cpu", "--quiet"]
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    return run


def pseudo_label_accuracy(out: Path, labels: np.ndarray) -> float | None:
    """The share of the folder's pseudo-labels that name the image's withheld class (``labels``: the
    training split's, by position); None without any."""
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if line.strip()]
    pseudo = [r for r in records if r.get("pseudo_label")]
    if not pseudo:
        return None
    right = sum(CLASS_NAMES[labels[int(Path(r["source"]).stem.split("-")[1])]] == r["class"] for r in pseudo)
    return round(right / len(pseudo), 4)


def run_augment(arguments: list) -> tuple[float, dict]:
    start = time.perf_counter()
    command = [*GANAUG, "augment", *arguments, "--seed", 0, "--device", "cpu", "--quiet"]
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else f"exit {result.returncode}")
    out = Path(arguments[arguments.index("--out") + 1])
    return time.perf_counter() - start, json.loads((out / "augment-report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--minutes", type=float, default=10.0, help="augment's --max-minutes for the GAN")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-unlabeled")
    parser.add_argument("--render", action="store_true", help="rebuild the section from the results file")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"arms": {}}
    if args.render:
        write_section("unlabeled", render(results))
        return
    labelled = fashion_folder(args.work / f"labelled-{LABELLED}", per_class=LABELLED)
    unlabelled = unlabelled_folder(args.work / f"unlabelled-{UNLABELLED}", labelled, UNLABELLED)
    images, labels = load_split("test")
    test = (resize32(images), torch.from_numpy(labels.astype(np.int64)))
    _, train_labels = load_split("train")  # the withheld classes of the unlabelled files
    cnn_options = {"width": 16, "min_steps": 300, "epochs": 30}
    stamp = int(time.time())
    for part in args.part:
        out, seconds, report = labelled, 0.0, None
        if part != "real":
            out = args.work / f"{part}-{stamp}"
            arguments = ["--data", labelled, "--out", out]
            arguments += {"pseudo": ["--no-synthetic", "--unlabeled", unlabelled],
                          "pseudo-labelled": ["--no-synthetic", "--unlabeled", unlabelled, "--pseudo-teacher", "labelled"],
                          "pseudo-unchecked": ["--no-synthetic", "--unlabeled", unlabelled, "--pseudo-share", 0.98],
                          "augment": ["--max-minutes", args.minutes],
                          "augment-unlabeled": ["--max-minutes", args.minutes, "--unlabeled", unlabelled],
                          "init": ["--max-minutes", args.minutes],
                          }[part]
            if part == "init":  # pre-trained only for this arm
                arguments += ["--set", f"train.init={pretrained(args, unlabelled)}"]
            seconds, report = run_augment(arguments)
        folder, folder_labels = read_class_folder(out)
        rows = {classifier: scores(folder, folder_labels, test, range(args.seeds), classifier, False, cnn_options)
                for classifier in ("cnn", "mlp")}
        results["minutes"] = args.minutes if part.startswith(("augment", "init")) else results.get("minutes", args.minutes)
        results["arms"][part] = {"seconds": round(seconds, 1), "files": len(folder), "report": report,
                                 "pseudo_labels_right": None if part == "real" else pseudo_label_accuracy(out, train_labels),
                                 "scores": rows, "command": " ".join(sys.argv[1:])}
        RESULTS.write_text(json.dumps(results, indent=1))
        if "real" in results["arms"]:
            write_section("unlabeled", render(results))
        print(json.dumps({"arm": part, "files": len(folder), **{k: fmt(v) for k, v in rows.items()}}), flush=True)


def render(results: dict) -> str:
    arms = results["arms"]
    base = arms["real"]["scores"]
    lines = [
        "## Unlabelled images: 10 labelled images per class and 5,000 unlabelled ones",
        "",
        "Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/unlabeled_fashion_mnist.py --part "
        f"ARM --minutes {results.get('minutes', 10):g}` on 2 CPU cores (the minutes are each GAN's training time): 10 labelled Fashion-MNIST training images per class, and 5,000 other training images "
        "in one flat folder with their labels withheld. Classifiers trained uniformly over the written folder's "
        "files, scored on the 10k test images, mean ± std over 3 seeds (the CNN is ganaug's judge architecture, "
        "width 16; the MLP shares no code with ganaug). Gains are in points against the labelled folder alone; "
        "'pseudo-labels right' is the share of the folder's pseudo-labelled files whose class is their withheld "
        "label (blank where none was added, or where the arm was measured before that column).",
        "",
        "| arm | command | files | pseudo-labels right | time | CNN | gain | MLP | gain |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    commands = {"real": "the labelled folder alone", "pseudo": "`augment --no-synthetic --unlabeled U`",
                "pseudo-labelled": "`augment --no-synthetic --unlabeled U --pseudo-teacher labelled`",
                "pseudo-unchecked": "`augment --no-synthetic --unlabeled U --pseudo-share 0.98`",
                "augment": f"`augment --max-minutes {results.get('minutes', 10):g}`",
                "augment-unlabeled": f"`augment --max-minutes {results.get('minutes', 10):g} --unlabeled U`",
                "init": f"`train-gan --data U`, then `augment --set train.init=RUN` ({results.get('minutes', 10):g} "
                        "minutes each)"}
    for part in PARTS:
        if part not in arms:
            continue
        entry, cells = arms[part], []
        for classifier in ("cnn", "mlp"):
            values = entry["scores"][classifier]
            gain = 100 * (statistics.mean(values) - statistics.mean(base[classifier]))
            cells += [fmt(values), "" if part == "real" else f"{gain:+.1f}"]
        right = entry.get("pseudo_labels_right")
        right = "" if right is None else f"{right:.1%}"
        lines.append(f"| {part} | {commands[part]} | {entry['files']} | {right} | {entry['seconds']:.0f} s | "
                     f"{' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
