"""The denoising auto-encoder family: it learns to denoise, its score points at the data's
modes, its samplers land there, reproducibly and in the class asked for; runs resume exactly;
the contractive penalty is the encoder's Jacobian norm."""

import json
from pathlib import Path

import pytest
import torch

from conftest import assert_same_state, make_class_folder, read_metrics
from ganaug_cli.cli.app import run
from ganaug_cli.config import DaeConfig
from ganaug_cli.models.dae import Denoiser
from ganaug_cli.models.dae_samplers import SAMPLERS
from ganaug_cli.runs import checkpoints, load_checkpoint
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.dae import DaeTrainer, jacobian_norm_estimate

TINY_DAE = ["--set", "model.width=8", "--set", "model.levels=2", "--set", "train.batch_size=16"]
MODES = torch.tensor([[-0.5, -0.5], [0.5, 0.5]])  # two points in the [-1, 1] image scale


def train_tiny_dae(data: Path, out: Path, *extra: str, steps: int = 2, seed: int = 0) -> Path:
    code = run(["train-dae", "--data", str(data), "--out", str(out), "--steps", str(steps), "--seed", str(seed),
                "--quiet", "--device", "cpu", *TINY_DAE, *extra])
    assert code == 0, f"training failed with exit code {code}"
    return out


def exact_denoiser(modes: torch.Tensor):
    """The best denoiser for data that is one of ``modes`` with equal chance (images 2×1×1)."""

    def denoise(x, sigma):
        points = x.flatten(1)
        weights = (-(points[:, None] - modes[None]).pow(2).sum(-1) / (2 * sigma**2)).softmax(dim=1)
        return (weights @ modes).view_as(x)

    return denoise


def nearest_mode_distance(points: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points.flatten(1), MODES).min(dim=1).values


@pytest.mark.parametrize("name, settings", [
    ("heun", {"steps": 16}),
    ("langevin", {"steps": 16, "per_level": 4, "size": 0.3}),
    ("chain", {"steps": 20}),
])
def test_each_sampler_given_the_exact_denoiser_lands_on_the_modes_reproducibly(name, settings):
    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(400, 2, 1, 1, generator=generator)
        return SAMPLERS[name](exact_denoiser(MODES), noise, generator, sigma=0.3, sigma_min=0.002, sigma_max=10,
                              **settings)

    samples = draw(0)
    assert nearest_mode_distance(samples).mean() < 0.05
    share_first = float((samples.flatten(1).sum(1) < 0).float().mean())
    assert 0.35 < share_first < 0.65  # both modes, about equally
    assert torch.equal(draw(0), samples) and not torch.equal(draw(1), samples)


@pytest.fixture(scope="module")
def toy_denoiser():
    """A denoiser trained on 2-D points as 2×1×1 "images": class 0 near MODES[0], class 1 near MODES[1]."""
    torch.manual_seed(0)
    config = DaeConfig.model_validate({"model": {"width": 16, "levels": 1, "sigma_max": 5}, "train": {"lr": 3e-3}})
    trainer = DaeTrainer(config, DataInfo(2, 1, ["low", "high"], [1, 1]), torch.device("cpu"))
    for _ in range(300):
        labels = torch.randint(2, (128,))
        points = MODES[labels] + 0.05 * torch.randn(128, 2)
        trainer.train_step(((points + 1) / 2)[:, :, None, None], labels)
    return trainer.ema


def test_the_learned_score_points_toward_the_nearest_mode(toy_denoiser):
    points = torch.tensor([[-0.2, -0.3], [-0.8, -0.6], [0.3, 0.15], [0.8, 0.7]])
    with torch.no_grad():
        denoised = toy_denoiser(points[:, :, None, None], torch.full((4,), 0.2)).flatten(1)
    toward = MODES[(points.sum(1) > 0).long()] - points
    cosine = torch.nn.functional.cosine_similarity(denoised - points, toward, dim=1)
    assert (cosine > 0.9).all(), cosine


@pytest.mark.parametrize("guidance", [1.0, 2.0])
def test_samples_keep_the_class_asked_for_and_land_near_its_mode(toy_denoiser, guidance):
    labels = torch.tensor([0, 1]).repeat(100)
    options = {"sampler": "heun", "steps": 16, "langevin_steps": 4, "langevin_size": 0.3, "chain_steps": 50,
               "guidance": guidance}
    images = toy_denoiser.sample(200, labels, torch.Generator().manual_seed(0), **options) * 2 - 1
    distance = (images.flatten(1) - MODES[labels]).norm(dim=1)
    assert (distance < 0.25).float().mean() > 0.95, distance.max()


def test_unconditional_samples_cover_both_modes(toy_denoiser):
    options = {"sampler": "heun", "steps": 16, "langevin_steps": 4, "langevin_size": 0.3, "chain_steps": 50,
               "guidance": 1.0}
    images = toy_denoiser.sample(200, None, torch.Generator().manual_seed(1), **options) * 2 - 1
    assert nearest_mode_distance(images).median() < 0.15
    assert 0.2 < float((images.flatten(1).sum(1) < 0).float().mean()) < 0.8


def test_a_run_trains_and_its_denoising_loss_falls(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6, size=16)
    code, out, err = cli("train-dae", "--data", data, "--steps", "40", "--seed", "0", "--device", "cpu",
                         "--set", "model.noise=single", "--set", "train.log_every=1", *TINY_DAE)
    assert code == 0, err
    run_dir = Path(out.strip())
    assert run_dir == Path("runs/dae-0001")
    losses = [line["loss"] for line in read_metrics(run_dir)]
    assert len(losses) == 40 and sum(losses[-8:]) < 0.7 * sum(losses[:8])
    content = load_checkpoint(checkpoints(run_dir)[-1])
    assert content["model_args"]["num_classes"] == 2 and content["model_args"]["noise"] == "single"
    assert set(content["trainer"]) == {"net", "ema", "optimiser", "updates"}
    assert (run_dir / "previews" / "latest.png").exists()


@pytest.mark.parametrize("extra", [[], ["--set", "model.noise=single", "--set", "model.contractive=0.1"]],
                         ids=["multi", "single-contractive"])
def test_resume_is_exact_twenty_steps_equal_ten_plus_ten(two_class_folder, tmp_path, extra):
    straight = train_tiny_dae(two_class_folder, tmp_path / "straight", *extra, steps=20, seed=3)
    split = train_tiny_dae(two_class_folder, tmp_path / "split", *extra, steps=10, seed=3)
    assert run(["train-dae", "--resume", str(split), "--steps", "20", "--quiet", "--device", "cpu"]) == 0
    assert_same_state(straight, split)


def test_the_contractive_penalty_estimates_the_encoders_jacobian_norm():
    torch.manual_seed(0)
    model = Denoiser(resolution=4, channels=1, width=8, levels=2, num_classes=0, noise="multi", sigma=0.5,
                     sigma_min=0.002, sigma_max=80, sigma_data=0.5).double()
    embed = model.embed(torch.tensor([0.5], dtype=torch.float64), None).detach()
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64)

    def encoder(inputs):
        return model.encode(inputs, embed)[0]

    step, columns = 1e-6, []
    with torch.no_grad():
        for k in range(x.numel()):  # the Jacobian by central finite differences, one input pixel at a time
            e = torch.zeros_like(x).flatten()
            e[k] = step
            e = e.view_as(x)
            columns.append(((encoder(x + e) - encoder(x - e)) / (2 * step)).flatten())
    exact = torch.stack(columns, dim=1).pow(2).sum()
    # Images do not interact, so 4,000 copies of x in one batch are 4,000 independent projections.
    inputs = x.expand(4000, -1, -1, -1).clone().requires_grad_(True)
    estimate = jacobian_norm_estimate(encoder(inputs), inputs, generator=torch.Generator().manual_seed(0))
    assert float(estimate.detach().mean()) == pytest.approx(float(exact), rel=0.05)


def test_sampling_options_reach_the_sampler_and_wrong_ones_are_one_line(cli, two_class_folder, tmp_path):
    single = train_tiny_dae(two_class_folder, tmp_path / "single", "--set", "model.noise=single")
    code, _, err = cli("sample", "--run", single, "-n", "2", "--chain-steps", "2", "--out", tmp_path / "a", "--seed", "1")
    assert code == 0, err
    assert len(list((tmp_path / "a").rglob("*.png"))) == 2
    code, out, err = cli("sample", "--run", single, "-n", "2", "--sampler", "heun", "--out", tmp_path / "b")
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1].startswith("error: sampler heun: needs a model trained over a range")
    code, _, err = cli("sample", "--run", single, "-n", "2", "--guidance", "-1", "--out", tmp_path / "c")
    assert code == 1 and err.strip() == "error: --guidance: Input should be greater than or equal to 0"
    code, _, err = cli("train-dae", "--data", two_class_folder, "--set", "model.noise=single",
                       "--set", "sample.sampler=langevin", "--steps", "1")
    assert code == 1 and err.count("\n") == 1 and "sampler langevin: needs a model trained over a range" in err


def test_the_same_seed_gives_the_same_files(cli, two_class_folder, tmp_path):
    multi = train_tiny_dae(two_class_folder, tmp_path / "multi")
    for out in ("a", "b"):
        code, _, err = cli("sample", "--run", multi, "-n", "4", "--steps", "3", "--guidance", "2", "--seed", "5",
                           "--out", tmp_path / out, "--quiet")
        assert code == 0, err
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 4
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_augment_trains_a_dae_and_puts_a_one_class_folders_samples_beside_its_images(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("cat",))
    code, _, err = cli("augment", "--model", "dae", "--data", data, "--out", tmp_path / "aug", "--steps", "2",
                       "--ratio", "1", "--no-filter", "--seed", "0", "--quiet", *TINY_DAE)
    assert code == 0, err
    assert len(list((tmp_path / "aug" / "cat").glob("ganaug-*.png"))) == 4
    assert not list((tmp_path / "aug").glob("ganaug-*.png"))  # an ImageFolder reader would never see these
    records = [json.loads(line) for line in (tmp_path / "aug" / "manifest.jsonl").read_text().splitlines()]
    assert {(r["file"].split("/")[0], r["class"]) for r in records if r["synthetic"]} == {("cat", "cat")}
