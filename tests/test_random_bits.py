"""The CPU training source: right Bernoulli rates, a state that survives a checkpoint, and seeded sampling."""

import io

import pytest
import torch

from ganaug_cli.random_sources import FastRandom, randint, sampling_random, uniform
from ganaug_cli.models.rbm import RBM, bernoulli


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 0.97, 1.0])
def test_bernoulli_from_the_fast_source_has_the_asked_rate(p):
    probabilities = torch.full((400, 500), p)
    rate = bernoulli(probabilities, FastRandom(0)).mean().item()
    assert abs(rate - p) < 0.005  # 200k draws: the standard error is at most 0.0011


def test_uniforms_and_class_indices_cover_their_range_evenly():
    source = FastRandom(1)
    u = uniform((100_000, 1), torch.empty(0), source)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.01
    counts = torch.bincount(randint(3, 30_000, torch.device("cpu"), source), minlength=3)
    assert all(abs(c - 10_000) < 400 for c in counts.tolist())


def test_the_state_survives_a_weights_only_checkpoint():
    source = FastRandom(7)
    source.int16(torch.Size([13]))  # leave the generator mid-stream
    buffer = io.BytesIO()
    torch.save({"random": source.state_dict()}, buffer)
    expected = source.int16(torch.Size([1000]))
    restored = FastRandom(0)
    restored.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)["random"])
    assert torch.equal(restored.int16(torch.Size([1000])), expected)


def test_a_seed_fixes_the_sampled_images_and_different_seeds_differ():
    torch.manual_seed(0)
    rbm = RBM([1, 4, 4], 8, "bernoulli", False, 2)
    rbm.W.normal_(0, 1.0)
    labels = torch.tensor([0, 1, 1])

    def draw(seed):
        return rbm.sample(3, labels, torch.Generator().manual_seed(seed), burn_in=5, thinning=1, images_per_chain=1)

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))
    assert isinstance(sampling_random(torch.Generator().manual_seed(0), torch.device("cpu")), FastRandom)
