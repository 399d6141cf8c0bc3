"""The model families, each declared once: what the CLI, the run loop, ``sample`` and
``augment`` know about a family comes from its entry here.

A new family is a model file (models/), a trainer file (training/), a config schema and
YAML (config/, configs/), and one ``Family`` entry: ``register(Family(...))``.

    python -m ganaug_cli.families gan > configs/gan.yaml   # a family's keys and defaults
"""

import sys
from dataclasses import dataclass

from ganaug_cli.config import DaeConfig, DaeSampleOptions, DbnConfig, GanConfig, GanSampleOptions, GibbsOptions, RbmConfig, Section
from ganaug_cli.config.describe import describe
from ganaug_cli.config.dae import DAE_RESOLUTIONS
from ganaug_cli.config.gan import GAN_RESOLUTIONS
from ganaug_cli.errors import GanaugError
from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.models.dae import Denoiser
from ganaug_cli.models.dbn import DBN
from ganaug_cli.models.gan import Generator
from ganaug_cli.models.rbm import RBM
from ganaug_cli.training.base import Trainer
from ganaug_cli.training.dae import DaeTrainer
from ganaug_cli.training.dbn import DbnTrainer
from ganaug_cli.training.gan import GanTrainer
from ganaug_cli.training.rbm import RbmTrainer


@dataclass(frozen=True)
class Family:
    name: str  # as in train-<name>, augment --model <name> and runs/<name>-NNNN
    title: str  # how messages name it: "GAN"
    summary: str  # the train command's one-line help
    example: str  # the train command's example
    config: type[Section]  # the whole training config, every default in it
    trainer: type[Trainer]
    model: type[GenerativeModel]  # what sample rebuilds from a checkpoint's model_args
    sample_options: type[Section]  # keyword options of model.sample; a run's ``sample`` section sets them
    resolutions: tuple[int, ...] | None = None  # what data.resolution=auto may pick (None: the data's own)

    def build_model(self, args: dict) -> GenerativeModel:
        # Checkpoints written before sampling options moved out of the constructor carry
        # them in model_args; the run's config still holds them, so they are dropped here.
        kept = {key: value for key, value in args.items() if key not in self.sample_options.model_fields}
        return self.model(**kept)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise GanaugError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})")
    return FAMILIES[name]


register(Family(
    name="gan",
    title="GAN",
    summary="Train a GAN (conditional when the data has classes) on an image folder.",
    example="ganaug train-gan --data ./imgs --max-minutes 10",
    config=GanConfig,
    trainer=GanTrainer,
    model=Generator,
    sample_options=GanSampleOptions,
    resolutions=GAN_RESOLUTIONS,
))
register(Family(
    name="rbm",
    title="RBM",
    summary="Train a Restricted Boltzmann Machine (CD-k / PCD) on an image folder.",
    example="ganaug train-rbm --data ./imgs --epochs 20",
    config=RbmConfig,
    trainer=RbmTrainer,
    model=RBM,
    sample_options=GibbsOptions,
))
register(Family(
    name="dbn",
    title="DBN",
    summary="Train a Deep Belief Network (greedy stack of RBMs) on an image folder.",
    example="ganaug train-dbn --data ./imgs --set model.layers=[500,500,2000]",
    config=DbnConfig,
    trainer=DbnTrainer,
    model=DBN,
    sample_options=GibbsOptions,
))
register(Family(
    name="dae",
    title="DAE",
    summary="Train a denoising auto-encoder (one noise level, or many: a score model) on an image folder.",
    example="ganaug train-dae --data ./imgs --max-minutes 10",
    config=DaeConfig,
    trainer=DaeTrainer,
    model=Denoiser,
    sample_options=DaeSampleOptions,
    resolutions=DAE_RESOLUTIONS,
))


if __name__ == "__main__":
    chosen = get_family(sys.argv[1])
    sys.stdout.write(describe(chosen.config, chosen.name))
