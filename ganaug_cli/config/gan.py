"""The GAN family's config schema. Defaults here are the only defaults."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ganaug_cli.config.schema import AutoOrBool, Section, TrainConfig, data_config_for

AugmentOp = Literal["color", "translation", "cutout"]
GAN_RESOLUTIONS = (16, 32, 64, 128, 256)


class GanDataConfig(data_config_for("GAN", GAN_RESOLUTIONS)):
    unlabeled: Path | None = Field(
        None, description="unlabelled images of the same kind (only read): the discriminator learns what real "
        "images look like from them too, and the class-conditional part from the labelled ones alone"
    )


class GanModelConfig(Section):
    z_dim: int = Field(128, gt=0, description="length of the noise vector")
    width: int = Field(32, gt=0, description="channels at the highest resolution; doubles per halving")
    max_width: int = Field(256, gt=0, description="cap on channels in the deepest blocks")
    conditional: AutoOrBool = Field(
        "auto", description="auto = class-conditional when the data has several classes"
    )
    d_dropout: float = Field(0.0, ge=0, lt=1, description="dropout rate in the discriminator")
    d_antialias: bool = Field(False, description="blur before each strided convolution of the discriminator")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the sampling generator's average")


class GanAugmentConfig(Section):
    policy: list[AugmentOp] = Field(
        ["color", "translation", "cutout"], description="differentiable augmentations (empty = off)"
    )
    p: float = Field(1.0, ge=0, le=1, description="chance each image is augmented (start value if adaptive)")
    adaptive: bool = Field(False, description="tune p from the discriminator's overfitting signal")
    target: float = Field(0.6, gt=0, lt=1, description="adaptive: wanted E[sign(D(real))]")
    adjust_images: int = Field(20000, gt=0, description="adaptive: images for p to move by 1")
    interval: int = Field(4, gt=0, description="adaptive: steps between adjustments")


class GanTrainConfig(TrainConfig):
    steps: int | None = Field(5000, gt=0)
    batch_size: int = Field(64, gt=0)
    loss: Literal["hinge", "logistic"] = "hinge"
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam's first moment decay (0.5 learns faster on short runs)")
    beta2: float = Field(0.999, ge=0, lt=1)
    r1_gamma: float = Field(0.0, ge=0, description="R1 penalty weight on real images (0 = off)")
    class_loss: float = Field(
        0.0, ge=0, description="weight of an auxiliary classifier's loss (AC-GAN), learnt on real images, that the "
        "generator's images must pass as their class (0 = off; conditional runs)"
    )
    freeze_d_blocks: int = Field(
        0, ge=0, description="with train.init: the discriminator's lowest layers (its input layer, then its "
        "down-sampling blocks) that keep the initial run's weights (FreezeD); 0 = all learn"
    )
    balance_classes: bool = Field(True, description="draw classes evenly in each batch")
    mixed_precision: bool = Field(True, description="CUDA only: bfloat16/float16 autocast")


    @model_validator(mode="after")
    def _freeze_needs_init(self):
        if self.freeze_d_blocks and self.init is None:
            raise ValueError("freeze_d_blocks needs train.init (--init RUN): frozen random weights learn nothing")
        return self


class GanConfig(Section):
    data: GanDataConfig = GanDataConfig()
    model: GanModelConfig = GanModelConfig()
    augment: GanAugmentConfig = GanAugmentConfig()
    train: GanTrainConfig = GanTrainConfig()


class GanSampleOptions(Section):
    """The GAN takes no sampling options yet: a noise vector (and a class) make an image."""
