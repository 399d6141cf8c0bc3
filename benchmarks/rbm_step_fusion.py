"""Two measurements behind the RBM step's remaining gap to the floor (issue 5).

    flock /tmp/ganaug-bench.lock .venv/bin/python benchmarks/rbm_step_fusion.py

- Sampling the visible layer of a 784×500 RBM for a batch of 100 (sigmoid, then Bernoulli)
  as the learner does it, against the same two steps fused by ``torch.compile`` (which
  brings its own random numbers); the compile time is reported apart.
- A sigmoid over the 100×500 hidden inputs with its buffer hot in the cache, against the
  same sigmoid right after the step's up-product, which streams the 1.6 MB weight matrix
  through the cache as every product of the step does.

Times are medians of five rounds, in µs per call. Prints one JSON line.
"""

import json
import statistics
import time

import torch
from common import microseconds

from ganaug_cli.random_sources import FastRandom
from ganaug_cli.models.rbm import bernoulli

BATCH, VISIBLE, HIDDEN = 100, 784, 500


def fused_visible(logits: torch.Tensor) -> torch.Tensor:
    return (torch.rand_like(logits) < torch.sigmoid(logits)).float()


def compiled_sampling(logits: torch.Tensor) -> dict:
    try:
        fused = torch.compile(fused_visible, dynamic=False)
        start = time.perf_counter()
        fused(logits)
        compile_s = time.perf_counter() - start
    except Exception as error:  # no C++ compiler, or inductor unavailable on this machine
        return {"compiled_error": str(error).splitlines()[0][:200]}
    return {"compiled_us": microseconds(lambda: fused(logits)), "compile_s": round(compile_s, 1)}


def main() -> None:
    torch.manual_seed(0)
    logits, scratch = torch.randn(BATCH, VISIBLE), torch.empty(BATCH, VISIBLE)
    samples, source = torch.empty(BATCH, VISIBLE), FastRandom(0)

    def eager_visible():
        torch.sigmoid(logits, out=scratch)
        bernoulli(scratch, source, out=samples, scratch=scratch)

    packed, data = torch.randn(VISIBLE + 1, HIDDEN + 1) * 0.01, torch.rand(BATCH, VISIBLE + 1).round()
    hidden = torch.empty(BATCH, HIDDEN)
    up = packed[:, :HIDDEN]
    pc = time.perf_counter

    def sigmoid_after_product(product: bool) -> float:
        times = []
        for _ in range(300):
            if product:
                torch.mm(data, up, out=hidden)
            start = pc()
            hidden.sigmoid_()
            times.append(pc() - start)
        return round(statistics.median(times) * 1e6, 1)

    print(json.dumps({
        "eager_visible_us": microseconds(eager_visible), **compiled_sampling(logits),
        "sigmoid_hot_us": sigmoid_after_product(False), "sigmoid_after_product_us": sigmoid_after_product(True),
        "threads": torch.get_num_threads(),
    }), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
