"""GPU smoke benchmark: a 64×64 RGB GAN for a few hundred steps with mixed precision.

Records images/s and peak GPU memory, with the GPU's name, in docs/benchmarks.md.
On a machine without CUDA it says so and exits cleanly (exit 0).

    .venv/bin/python benchmarks/gpu_smoke.py --steps 300
"""

import argparse
import sys
import time

import torch

from common import write_section

from ganaug_cli.config import GanConfig, resolve_config
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.gan import GanTrainer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU on this machine: nothing to measure", file=sys.stderr)
        return 0
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    config = resolve_config(GanConfig, sets=[f"train.batch_size={args.batch_size}", "data.resolution=64"])
    info = DataInfo(channels=3, resolution=64, class_names=[f"c{i}" for i in range(10)], class_counts=[100] * 10)
    trainer = GanTrainer(config, info, device)
    images = torch.rand(1000, 3, 64, 64, device=device)
    labels = torch.arange(1000, device=device) % 10
    for step in range(args.steps + 20):
        if step == 20:  # warm-up excluded (cuDNN autotuning, allocator growth)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
        index = torch.randint(0, 1000, (args.batch_size,), device=device)
        losses = trainer.train_step(images[index], labels[index])
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    rate = args.steps * args.batch_size / seconds
    peak = torch.cuda.max_memory_allocated() / 2**20
    name = torch.cuda.get_device_name(device)
    lines = [
        "## GPU smoke test",
        "",
        f"64×64 RGB conditional GAN (default width), batch {args.batch_size}, {args.steps} steps after 20 warm-up "
        f"steps, bfloat16 autocast and channels-last, on {name}: **{rate:,.0f} images/s**, peak GPU memory "
        f"{peak:,.0f} MiB (final loss_d {float(losses['loss_d']):.3f}). Measured with "
        f"`.venv/bin/python benchmarks/gpu_smoke.py --steps {args.steps}`.",
    ]
    write_section("gpu-smoke", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
