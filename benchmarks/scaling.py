"""Training speed with 1 and 2 processes on this machine (issue 16): images per second of
`ganaug train-FAMILY --nproc N` on 100 Fashion-MNIST images per class, and the efficiency
(the N-process rate over N times the 1-process rate).

Each run trains `--max-minutes M` with `train.batch_size` per process (so the global batch
grows with N); the rate is the median of metrics.jsonl's images_per_s after the first fifth
of the lines (start-up excluded). Results go to docs/scaling-results.json and to
docs/scaling.md (section scaling-cpu) after every run.

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/scaling.py --families gan dae --minutes 1.5
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DOCS, fashion_folder, write_section

RESULTS = DOCS / "scaling-results.json"
SCALING = DOCS / "scaling.md"


def images_per_second(family: str, processes: int, folder: Path, work: Path, minutes: float) -> float:
    run = work / f"{family}-{processes}"
    shutil.rmtree(run, ignore_errors=True)  # an earlier measurement's run
    command = [sys.executable, "-m", "ganaug_cli", f"train-{family}", "--data", str(folder), "--out", str(run),
               "--max-minutes", str(minutes), "--steps", "1000000", "--seed", "0", "--device", "cpu", "--quiet",
               "--nproc", str(processes), "--set", "train.log_every=10"]
    env = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}  # ganaug shares the cores out
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rates = [line["images_per_s"] for line in lines if "images_per_s" in line]
    return statistics.median(rates[len(rates) // 5:])


def render(results: dict) -> str:
    lines = ["| family | processes | batch per process | images/s | efficiency |", "| --- | ---: | ---: | ---: | ---: |"]
    for family, entry in results.items():
        single = entry["1"]["images_per_s"]
        for processes, measured in sorted(entry.items(), key=lambda item: int(item[0])):
            efficiency = measured["images_per_s"] / (int(processes) * single)
            lines.append(f"| {family} | {processes} | {measured['batch_per_process']} | {measured['images_per_s']:.0f} "
                         f"| {efficiency:.2f} |")
    command = "flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/scaling.py " + " ".join(
        next(iter(next(iter(results.values())).values()))["command"])
    return "\n".join([f"Measured with `{command}` on this machine's 2 CPU cores:", "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["gan", "dae"])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--minutes", type=float, default=1.5)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ganaug-bench-scaling")
    args = parser.parse_args()
    folder = fashion_folder(args.work / "fmnist-100", per_class=100)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    from ganaug_cli.families import FAMILIES

    for family in args.families:
        batch = FAMILIES[family].config().train.batch_size
        for processes in args.processes:
            rate = images_per_second(family, processes, folder, args.work, args.minutes)
            results.setdefault(family, {})[str(processes)] = {
                "images_per_s": round(rate, 1), "batch_per_process": batch, "command": sys.argv[1:]}
            print(json.dumps({"family": family, "processes": processes, "images_per_s": rate}), flush=True)
            RESULTS.write_text(json.dumps(results, indent=1))
            if "1" in results[family]:
                write_section("scaling-cpu", render(results), SCALING)


if __name__ == "__main__":
    main()
