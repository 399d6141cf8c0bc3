"""Where a default ``train-rbm`` run on a small folder spends its time (issue 5).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_run_time.py [--repeats 2]

Runs ``ganaug train-rbm --data examples/fashion-mnist-100 --seed 1`` with the default
config (1,000 images, 20 epochs, 180 updates) and reports its wall-clock time; then, on the
run's final model, the time of one epoch's pseudo-log-likelihood (100 held-out-sized images)
and of one AIS estimate with the default temperatures and chains. The run is started in a
scratch folder, so the ``ganaug_cli`` it times is the one on PYTHONPATH (or installed).

Prints one JSON line per result.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganaug_cli.config import RbmConfig
from ganaug_cli.models.rbm_partition import ais_log_partition
from ganaug_cli.models.rbm_likelihood import pseudo_log_likelihood
from ganaug_cli.sampling.source import load_sampling_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "fashion-mnist-100"


def timed_run(out: Path) -> float:
    command = [sys.executable, "-m", "ganaug_cli", "train-rbm", "--data", str(EXAMPLES), "--out", str(out),
               "--seed", "1", "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, cwd=out.parent, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def seconds(work, repeats: int = 3) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    defaults = RbmConfig().eval
    with tempfile.TemporaryDirectory() as scratch:
        runs = [timed_run(Path(scratch) / f"run-{i}") for i in range(args.repeats)]
        final = sorted((Path(scratch) / "run-0" / "checkpoints").glob("*.pt"))[-1]
        rbm = load_sampling_model(final, torch.device("cpu")).model
        metrics = [json.loads(line) for line in (Path(scratch) / "run-0" / "metrics.jsonl").read_text().splitlines()]
    units = (torch.rand(100, rbm.W.shape[0], generator=torch.Generator().manual_seed(0)) < 0.3).float()
    pll = seconds(lambda: pseudo_log_likelihood(rbm, units))
    ais = seconds(lambda: ais_log_partition(rbm, betas=defaults.ais_betas, chains=defaults.ais_chains,
                                            generator=torch.Generator().manual_seed(0)))
    print(json.dumps({
        "run_s": [round(r, 2) for r in runs], "ais_estimates": sum("ais_log_z" in row for row in metrics),
        "pll_epoch_s": round(pll, 3), "ais_estimate_s": round(ais, 2), "threads": torch.get_num_threads(),
    }), flush=True)


if __name__ == "__main__":
    main()
