"""The denoising auto-encoder family's config schema. Defaults here are the only defaults.

Images are scaled to [-1, 1]; noise levels (sigma) are standard deviations on that scale.
"""

from typing import Literal

from pydantic import Field, model_validator

from ganaug_cli.config.schema import AutoOrBool, Section, TrainConfig, data_config_for
from ganaug_cli.errors import ConfigError, GanaugError

DAE_RESOLUTIONS = (16, 32, 64, 128, 256)
Sampler = Literal["auto", "heun", "langevin", "chain"]
MULTI_LEVEL_SAMPLERS = ("heun", "langevin")  # they need a model trained over a range of levels


DaeDataConfig = data_config_for("DAE", DAE_RESOLUTIONS)


class DaeModelConfig(Section):
    width: int = Field(16, gt=0, description="channels at full resolution; doubles per halving")
    levels: int = Field(3, ge=1, le=5, description="resolutions of the encoder (3 at 32x32: 32, 16 and 8)")
    noise: Literal["single", "multi"] = Field(
        "multi", description="single: one noise level (the classic DAE); multi: a range of levels (a score model)"
    )
    sigma: float = Field(0.5, gt=0, description="single: the corruption's noise level; also the chain sampler's")
    sigma_min: float = Field(0.002, gt=0, description="multi: lowest noise level the samplers go down to")
    sigma_max: float = Field(80.0, gt=0, description="multi: highest noise level, where sampling starts")
    sigma_data: float = Field(0.5, gt=0, description="the images' typical deviation (sets the preconditioning)")
    p_mean: float = Field(-1.2, description="multi: mean of log sigma while training")
    p_std: float = Field(1.2, gt=0, description="multi: spread of log sigma while training")
    conditional: AutoOrBool = Field("auto", description="auto = class-conditional when the data has several classes")
    label_dropout: float = Field(
        0.1, ge=0, lt=1, description="share of training images shown without their class (for guidance)"
    )
    contractive: float = Field(
        0.0, ge=0, description="weight of the encoder's Jacobian penalty, the contractive auto-encoder (0 = off)"
    )
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the sampling model's weight average")

    @model_validator(mode="after")
    def _range(self):
        if self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min ({self.sigma_min}) must be below sigma_max ({self.sigma_max})")
        return self


class DaeTrainConfig(TrainConfig):
    steps: int | None = Field(20000, gt=0)
    batch_size: int = Field(64, gt=0)
    lr: float = Field(1e-3, gt=0, description="Adam's learning rate")
    balance_classes: bool = Field(True, description="draw classes evenly in each batch")


class DaeSampleOptions(Section):
    """How a denoiser makes images. A run's ``sample`` section sets them; ``ganaug sample
    --sampler`` (and the other flags named after these fields) override them for one call."""

    sampler: Sampler = Field(
        "auto", description="heun (deterministic, few steps), langevin (annealed), chain (corrupt and denoise); "
        "auto = heun for multi-level models, chain for single-level ones"
    )
    steps: int = Field(12, ge=2, description="heun and langevin: noise levels from sigma_max down to sigma_min")
    langevin_steps: int = Field(4, gt=0, description="langevin: updates at each noise level")
    langevin_size: float = Field(0.3, gt=0, le=1, description="langevin: step size, relative to each level's variance")
    chain_steps: int = Field(25, gt=0, description="chain: corrupt-and-denoise steps before the image is kept")
    guidance: float = Field(
        1.0, ge=0, description="class guidance: 1 = the class alone, above 1 pushes further from the other classes"
    )


class DaeConfig(Section):
    data: DaeDataConfig = DaeDataConfig()
    model: DaeModelConfig = DaeModelConfig()
    train: DaeTrainConfig = DaeTrainConfig()
    sample: DaeSampleOptions = DaeSampleOptions()

    @model_validator(mode="after")
    def _sampler_fits(self):
        try:
            resolve_sampler(self.sample.sampler, self.model.noise)
        except GanaugError as exc:
            raise ValueError(str(exc)) from None
        return self


def resolve_sampler(sampler: str, noise: str) -> str:
    """The sampler ``auto`` stands for, or a one-line error for one the model cannot use."""
    chosen = sampler if sampler != "auto" else ("heun" if noise == "multi" else "chain")
    if noise == "single" and chosen in MULTI_LEVEL_SAMPLERS:
        raise ConfigError(f"sampler {chosen}: needs a model trained over a range of noise levels "
                          "(model.noise=multi); a single-level one samples with the chain")
    return chosen
