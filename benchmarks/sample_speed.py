"""ganaug sample throughput against its two parts, and memory against n.

For -n 10000 at 32×32 gray and 64×64 RGB: the end-to-end rate S of `ganaug sample`,
the generator-only rate G and the encode-and-write-only rate E, measured in the same
run. Both parts share the cores, so the ceiling is 1/(1/G + 1/E); the bar is S ≥ 90%
of it. Peak RSS of `ganaug sample` at n = 2,000 and n = 20,000 should match within 10%.

    .venv/bin/python benchmarks/sample_speed.py
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from common import write_section

from ganaug_cli.imaging import to_uint8
from ganaug_cli.sampling import load_sampling_model
from ganaug_cli.sampling.writer import ImageWriter
from ganaug_cli.runs import latest_checkpoint

GANAUG = [sys.executable, "-m", "ganaug_cli"]
N = 10_000
BATCH = 256


def make_run(work: Path, channels: str, resolution: int) -> Path:
    """A run with an untrained-but-real model: speed does not depend on the weights."""
    data = work / f"data-{channels}"
    for c in range(10):
        (data / f"c{c}").mkdir(parents=True, exist_ok=True)
        for i in range(4):
            colour = (25 * c, 10 * i, 200) if channels == "rgb" else 20 * c + i
            Image.new("RGB" if channels == "rgb" else "L", (resolution, resolution), colour).save(data / f"c{c}" / f"{i}.png")
    run = work / f"run-{channels}-{resolution}"
    subprocess.run([*GANAUG, "train-gan", "--data", str(data), "--out", str(run), "--steps", "1", "--device", "cpu",
                    "--quiet", "--set", f"data.resolution={resolution}", "--set", "train.batch_size=8"],
                   check=True, stdout=subprocess.DEVNULL)
    return run


def generator_rate(run: Path) -> tuple[float, list]:
    loaded = load_sampling_model(latest_checkpoint(run), torch.device("cpu"))
    batches, start = [], time.perf_counter()
    for b in range(N // BATCH + 1):
        size = min(BATCH, N - b * BATCH)
        if size <= 0:
            break
        labels = torch.full((size,), b % 10)
        generator = torch.Generator().manual_seed(b)
        batches.append(to_uint8(loaded.model.sample(size, labels, generator, **loaded.sample_options)))
    return N / (time.perf_counter() - start), batches


def encode_rate(batches: list, out: Path) -> float:
    out.mkdir(parents=True)
    writer = ImageWriter("png", None, 95)
    start, index = time.perf_counter(), 0
    for arrays in batches:
        paths = [out / f"{index + i:06d}.png" for i in range(len(arrays))]
        index += len(arrays)
        writer.submit(arrays, paths)
    writer.finish()
    writer.close()
    return N / (time.perf_counter() - start)


def sample_process(run: Path, n: int, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `ganaug sample` process."""
    start = time.perf_counter()
    process = subprocess.Popen([*GANAUG, "sample", "--run", str(run), "-n", str(n), "--out", str(out),
                                "--seed", "0", "--quiet", "--device", "cpu", "--batch-size", str(BATCH)])
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, f"sample failed ({status})"
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ganaug-sample-"))
    lines = [
        "## Sampling speed and memory",
        "",
        f"`ganaug sample -n {N:,}` (PNG, batch {BATCH}) on {os.cpu_count()} CPU cores, with the generator-only "
        "rate G (batched generation to uint8 arrays) and the encode-and-write-only rate E (the same arrays "
        "through the same writer) measured in the same run. Ceiling = 1/(1/G + 1/E). The end-to-end time "
        "includes the process start (Python, torch import, checkpoint load). Measured with "
        "`.venv/bin/python benchmarks/sample_speed.py`.",
        "",
        "| model | G (img/s) | E (img/s) | ceiling (img/s) | ganaug sample (img/s) | share of ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    memory = []
    for channels, resolution in (("gray", 32), ("rgb", 64)):
        run = make_run(work, channels, resolution)
        g, batches = generator_rate(run)
        e = encode_rate(batches, work / f"encode-{channels}")
        del batches
        ceiling = 1 / (1 / g + 1 / e)
        seconds, _ = sample_process(run, N, work / f"sample-{channels}")
        s = N / seconds
        lines.append(f"| {resolution}×{resolution} {channels} | {g:,.0f} | {e:,.0f} | {ceiling:,.0f} | {s:,.0f} | {s / ceiling:.0%} |")
        if channels == "gray":
            for n in (2_000, 20_000):
                out = work / f"memory-{n}"
                _, rss = sample_process(run, n, out)
                memory.append((n, rss))
                shutil.rmtree(out)
    lines += [
        "",
        "Peak resident memory of `ganaug sample` (32×32 gray): "
        + ", ".join(f"n = {n:,}: {rss:,.0f} MiB" for n, rss in memory)
        + f" (ratio {memory[1][1] / memory[0][1]:.2f}).",
    ]
    write_section("sample-speed", "\n".join(lines))
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
