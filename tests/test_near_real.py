"""Sampling near real images: latent inversion and variations that keep their source's class."""

from pathlib import Path

import torch

from conftest import make_class_folder, two_tone_folder
from ganaug_cli.data import ImageFolder
from ganaug_cli.models.gan import Generator
from ganaug_cli.sampling import LoadedModel
from ganaug_cli.sampling.near_real import near_real


def tiny_generator(num_classes: int = 0) -> Generator:
    torch.manual_seed(0)
    model = Generator(resolution=16, channels=1, z_dim=16, width=8, max_width=16, num_classes=num_classes)
    model.to_image.weight.data.mul_(30)  # images that differ with z, as a trained generator's do
    if num_classes:  # classes that differ, as training would make them
        for module in model.modules():
            if hasattr(module, "embed") and module.embed is not None:
                module.embed.weight.data.add_(torch.randn_like(module.embed.weight) * 0.8)
    return model.eval()


def loaded_for(model: Generator, class_names: list[str]) -> LoadedModel:
    return LoadedModel(model=model, family="gan", class_names=class_names, step=0, run_dir=Path("run"),
                       checkpoint=Path("run/step.pt"), config={}, resolution=16, channels=1)


def test_inversion_reconstructs_a_generator_sample_closely():
    model = tiny_generator()
    target = model.sample(6, None, torch.Generator().manual_seed(1))
    codes = model.invert(target, None, steps=300, generator=torch.Generator().manual_seed(2))
    error = (model.decode(codes, None) - target).pow(2).mean(dim=(1, 2, 3))
    others = (target - target.roll(1, dims=0)).pow(2).mean(dim=(1, 2, 3))  # to another sample
    assert float(error.max()) < 0.1 * float(others.min())


def test_near_real_samples_vary_their_source_and_stay_closer_to_it_than_to_other_classes():
    model = tiny_generator(num_classes=2)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    real = (model.sample(6, labels, torch.Generator().manual_seed(3)) * 255).round().to(torch.uint8)
    folder = ImageFolder(images=real, labels=labels, class_names=["a", "b"], channels="gray",
                         files=[f"{i}.png" for i in range(6)])
    loaded = near_real(loaded_for(model, ["a", "b"]), folder, radius=0.3, steps=300)
    wanted = torch.tensor([0] * 6 + [1] * 6)
    generator = torch.Generator().manual_seed(4)
    sources = loaded.model.sources(wanted, 12, torch.Generator().manual_seed(4))
    samples = loaded.model.sample(12, wanted, generator)
    assert sorted(sources[:6].tolist()) == [0, 0, 1, 1, 2, 2]  # every source of a class before any twice
    distances = torch.cdist(samples.flatten(1), real.float().flatten(1) / 255)
    own = distances[torch.arange(12), sources]
    other_class = torch.stack([distances[i, labels != wanted[i]].min() for i in range(12)])
    assert bool((own > 1e-3).all())  # a variation, not a copy
    assert bool((own < other_class).all())


def test_sample_near_real_writes_variations_and_bad_flags_are_one_line(cli, trained_runs, tmp_path):
    run = trained_runs["conditional"]
    out = tmp_path / "near"
    code, _, err = cli("sample", "--run", run, "--per-class", "2", "--near-real", "--near-radius", "0.2",
                       "--seed", "0", "--out", out, "--quiet")
    assert code == 0, err
    assert len(list(out.rglob("*.png"))) == 6
    code, stdout, err = cli("sample", "--run", run, "-n", "2", "--near-radius", "0.2", "--out", tmp_path / "x")
    assert (code, stdout, err.strip()) == (1, "", "error: --near-radius: applies only with --near-real")
    code, _, err = cli("sample", "--run", run, "-n", "2", "--near-real", "--near-radius", "-1", "--out", tmp_path / "x")
    assert code == 1 and err.strip() == "error: --near-radius: Input should be greater than or equal to 0"


def test_near_real_on_a_boltzmann_run_names_the_family(cli, tmp_path):
    from test_rbm import train

    data = two_tone_folder(tmp_path / "data", per_class=4)
    run = train(cli, data, "--steps", "2", "--out", tmp_path / "rbm")
    code, _, err = cli("sample", "--run", run, "-n", "2", "--near-real", "--out", tmp_path / "x")
    assert code == 1 and err.strip().splitlines()[-1] == (f"error: --near-real: only GAN runs can sample near real images; {run} is a run of the RBM family")


def test_augment_near_real_uses_only_the_images_the_generator_saw(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=6, size=16)
    from conftest import TINY_GAN

    out = tmp_path / "augmented"
    code, _, err = cli("augment", "--data", data, "--out", out, "--steps", "2", "--seed", "0", "--no-filter",
                       "--near-real", "--ratio", "1", *TINY_GAN)
    assert code == 0, err
    assert len(list(out.rglob("ganaug-*.png"))) == 12


def test_augment_samples_near_real_images_by_default_only_where_the_family_can(cli, tmp_path):
    from test_rbm import train

    data = two_tone_folder(tmp_path / "data", per_class=4)
    run = train(cli, data, "--steps", "2", "--out", tmp_path / "rbm")
    code, _, err = cli("augment", "--data", data, "--out", tmp_path / "auto", "--run", run, "--ratio", "1", "--no-filter")
    assert code == 0, err  # auto: an RBM draws from its chains
    code, _, err = cli("augment", "--data", data, "--out", tmp_path / "asked", "--run", run, "--ratio", "1",
                       "--no-filter", "--near-real")
    assert code == 1 and err.strip().splitlines()[-1].startswith("error: --near-real: only GAN runs can sample near")
    assert not (tmp_path / "asked").exists()
