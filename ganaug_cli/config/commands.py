"""Defaults of the commands that read no YAML (sample, augment, eval): their flags' defaults."""

from typing import Literal

from pydantic import Field

from ganaug_cli.config.schema import Section


class SampleConfig(Section):
    """``ganaug sample``; the family's own sampling options come from its registry entry."""

    n: int = Field(100, gt=0, description="images to write when neither -n nor --per-class is given")
    batch_size: int = Field(256, gt=0)
    format: Literal["png", "jpg", "webp"] = "png"
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    jpeg_quality: int = Field(95, ge=1, le=100)


class AugmentCommandConfig(Section):
    """``ganaug augment``; ``model`` is checked against the registered families by the command."""

    model: str = "gan"
    ratio: float = Field(1.0, gt=0, description="synthetic images per real image of each class")
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="keep samples the domain classifier gives at least this probability of their class"
    )


class EvalCommandConfig(Section):
    """``ganaug eval``."""

    n: int = Field(2000, ge=2, description="samples to draw with --run")
    features: Literal["domain", "inception"] = Field(
        "domain", description="domain (a classifier trained on --data) or inception"
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
