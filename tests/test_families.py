"""The family registry: a family declared by one entry gets train-<name>, sample and augment."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import Field
from typer.testing import CliRunner

from conftest import make_class_folder
from ganaug_cli.cli import build_app
from ganaug_cli.config import DataConfig, Section, TrainConfig
from ganaug_cli.families import FAMILIES, Family
from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.training.base import Trainer


class ConstantImages(GenerativeModel):
    """Every image of a class is one gray level: the class's mean brightness, times an option."""

    family = "toy"

    def __init__(self, channels: int, resolution: int, num_classes: int):
        super().__init__(channels=channels, resolution=resolution, num_classes=num_classes)
        self.level = torch.nn.Parameter(torch.zeros(max(num_classes, 1)), requires_grad=False)

    def sample(self, n, labels, generator, *, gain):
        index = labels if labels is not None else torch.zeros(n, dtype=torch.long)
        value = (self.level[index] * gain).clamp(0, 1)
        shape = (self.args["channels"], self.args["resolution"], self.args["resolution"])
        return value.view(n, 1, 1, 1).expand(n, *shape).clone()


class ToySampleOptions(Section):
    gain: float = Field(1.0, gt=0, description="brightness factor of every image")


class ToyTrainConfig(TrainConfig):
    steps: int | None = Field(4, gt=0)
    batch_size: int = Field(4, gt=0)


class ToyConfig(Section):
    data: DataConfig = DataConfig()
    train: ToyTrainConfig = ToyTrainConfig()
    sample: ToySampleOptions = ToySampleOptions()


class ToyTrainer(Trainer):
    """Learns each class's mean brightness by a running average."""

    family = "toy"

    def __init__(self, config, info, device):
        super().__init__(config, info, device)
        classes = len(info.class_names) if len(info.class_names) > 1 else 0
        self.model = ConstantImages(info.channels, info.resolution, classes)

    @property
    def sampling_model(self):
        return self.model

    def sample_options(self):
        return self.config.sample.model_dump()

    def train_step(self, images, labels):
        labels = labels if self.model.num_classes else torch.zeros_like(labels)
        for c in labels.unique():
            self.model.level[c] = 0.5 * self.model.level[c] + 0.5 * images[labels == c].mean()
        return {"level": self.model.level.mean()}

    def state_dict(self):
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])


TOY = Family(
    name="toy",
    title="TOY",
    summary="Train the constant-image toy.",
    example="ganaug train-toy --data ./imgs",
    config=ToyConfig,
    trainer=ToyTrainer,
    model=ConstantImages,
    sample_options=ToySampleOptions,
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(FAMILIES, "toy", TOY)
    return TOY


@pytest.fixture
def dark_and_light(tmp_path):
    return make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=4, size=8)


def _mean(path) -> float:
    return float(np.asarray(Image.open(path), dtype=np.float32).mean())


def test_a_family_added_to_the_registry_alone_trains_samples_and_augments(cli, toy, dark_and_light, tmp_path):
    code, out, err = cli("train-toy", "--data", dark_and_light, "--out", tmp_path / "run", "--seed", "0", "--quiet")
    assert code == 0, err
    run = tmp_path / "run"
    assert out.strip() == str(run) and json.loads((run / "run.json").read_text())["family"] == "toy"

    code, _, err = cli("sample", "--run", run, "--per-class", "2", "--seed", "0", "--out", tmp_path / "s", "--quiet")
    assert code == 0, err
    dark, light = (_mean(sorted((tmp_path / "s" / name).glob("*.png"))[0]) for name in ("dark", "light"))
    assert dark < light  # the class's own level
    code, _, err = cli("sample", "--run", run, "--per-class", "2", "--gain", "0.5", "--out", tmp_path / "half", "--quiet")
    assert code == 0, err
    assert _mean(sorted((tmp_path / "half" / "light").glob("*.png"))[0]) == pytest.approx(light / 2, abs=1)

    code, out, err = cli("augment", "--model", "toy", "--data", dark_and_light, "--out", tmp_path / "aug",
                         "--no-filter", "--ratio", "1", "--seed", "1", "--quiet")
    assert code == 0, err
    assert len(list((tmp_path / "aug" / "dark").glob("ganaug-*.png"))) == 4  # ratio 1: one per real image


def test_a_sampling_flag_of_another_family_is_one_line_naming_the_family(cli, toy, dark_and_light, tmp_path):
    cli("train-toy", "--data", dark_and_light, "--out", tmp_path / "run", "--quiet")
    code, out, err = cli("sample", "--run", tmp_path / "run", "-n", "2", "--burn-in", "5", "--out", tmp_path / "s")
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1] == f"error: --burn-in: applies to RBM and DBN runs, and {tmp_path / 'run'} is a toy run"
    code, _, err = cli("sample", "--run", tmp_path / "run", "-n", "2", "--gain", "0", "--out", tmp_path / "s")
    assert code == 1 and err.strip() == "error: --gain: Input should be greater than 0"


def test_the_registry_gives_the_train_commands_and_augment_model_choices(toy):
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0 and "train-toy" in result.output
    result = CliRunner().invoke(build_app({"gan": FAMILIES["gan"]}), ["--help"])
    assert "train-gan" in result.output and "train-rbm" not in result.output
    result = CliRunner().invoke(build_app(), ["augment", "--help"])
    assert "gan, rbm, dbn, dae, toy" in re.sub(r"[\s│]+", " ", result.output)  # the help's table wraps lines


def test_every_family_entry_agrees_with_its_trainer_and_model():
    for name, family in FAMILIES.items():
        assert family.trainer.family == name and family.model.family == name
        assert set(family.config.model_fields) >= {"data", "train"}
        assert family.sample_options is Section or issubclass(family.sample_options, Section)
