"""Would a run's earlier checkpoint make better samples than its last one?

For each checkpoint a run kept: 50 fresh samples per class (seed 0), their class fidelity by
the independent oracle of augment_techniques.py (an MLP trained on 6,000 training images no
small folder uses) and their diversity against the run's real images. Prints one JSON line per
checkpoint and writes docs/benchmarks.md (section checkpoint-choice).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/checkpoint_choice.py runs/gan-0008 runs/gan-0009
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from augment_techniques import describe, train_oracle
from common import CLASS_NAMES, read_class_folder, write_section

from ganaug_cli.runs import checkpoints, read_run_config
from ganaug_cli.sampling import load_sampling_model
from ganaug_cli.sampling.generate import generate_in_memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--per-class", type=int, default=50)
    args = parser.parse_args()
    oracle = train_oracle(smoke=False)
    lines = [
        "## Which checkpoint: the last one, or an earlier one?",
        "",
        f"Measured with `flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/checkpoint_choice.py "
        f"{' '.join(map(str, args.runs))}`: {args.per_class} fresh samples per class (seed 0) from each checkpoint "
        "a run kept; oracle fidelity and diversity as in the techniques table.",
        "",
        "| run | real per class | checkpoint step | oracle fidelity | diversity |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for run in args.runs:
        real, real_labels = read_class_folder(Path(read_run_config(run)["data"]["path"]))
        for path in checkpoints(run):
            loaded = load_sampling_model(path, torch.device("cpu"))
            images, names = generate_in_memory(loaded, args.per_class * len(CLASS_NAMES), seed=0)
            labels = torch.tensor([CLASS_NAMES.index(name) for name in names])
            row = {"run": str(run), "step": loaded.step, **describe(images, labels, real, real_labels, oracle)}
            print(json.dumps(row), flush=True)
            lines.append(f"| `{run}` | {len(real) // len(CLASS_NAMES)} | {loaded.step} | "
                         f"{row['oracle_fidelity']:.0%} | {row['diversity_ratio']:.2f} |")
    write_section("checkpoint-choice", "\n".join(lines))
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
