"""Defaults of the commands that read no YAML (sample, augment, eval): their flags' defaults."""

from typing import Annotated, Literal

from pydantic import Field

from ganaug_cli.config.schema import AutoOrBool, Section


class NearRealFields(Section):
    """Sampling near real images (sample and augment): variations of each, for GAN runs."""

    near_real: AutoOrBool = Field(False, description="sample near the real images (a variation of each) instead of from fresh noise")
    near_radius: float = Field(
        0.5, ge=0, description="near-real: noise mixed into a real image's code (0 = its reconstruction, large = fresh samples)"
    )
    inversion_steps: int = Field(50, gt=0, description="near-real: optimiser steps that find each real image's code")


class SampleConfig(NearRealFields):
    """``ganaug sample``; the family's own sampling options come from its registry entry."""

    n: int = Field(100, gt=0, description="images to write when neither -n nor --per-class is given")
    batch_size: int = Field(256, gt=0)
    format: Literal["png", "jpg", "webp"] = "png"
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    jpeg_quality: int = Field(95, ge=1, le=100)


Share = Annotated[float, Field(gt=0, le=0.9)]
# Pseudo-labelled images are real images of the domain, so they may make most of the folder.
PseudoShare = Annotated[float, Field(gt=0, le=0.99)]


class AugmentCommandConfig(NearRealFields):
    """``ganaug augment``; ``model`` is checked against the registered families by the command."""

    model: str = "gan"
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    near_real: AutoOrBool = Field(
        "auto", description="synthetic images near the real ones (a variation of each); auto = for GAN runs, which can "
        "(measured: docs/benchmarks.md, section augment-techniques)"
    )
    ratio: float | None = Field(
        None, gt=0, description="synthetic images per real image of each class; none = as the held-out check chooses"
    )
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="keep samples the domain classifier gives at least this probability of their class"
    )
    check_shares: list[Share] = Field(
        [0.1, 0.2, 0.3], min_length=1, description="synthetic shares of the folder the held-out check tries, besides 0"
    )
    pseudo_confidence: float = Field(
        0.9, ge=0, le=1, description="--unlabeled: keep images the classifier trained on the real folder puts in a class "
        "with at least this probability"
    )
    pseudo_teacher: Literal["spread", "labelled"] = Field(
        "spread", description="--unlabeled: the classifier that gives the classes: spread (label spreading over all "
        "images, then a classifier trained on the real images and the surest spread labels) or labelled (trained on "
        "the real images alone)"
    )
    # 0.98 (49 pseudo-labelled images per real one) lets a folder of 10 images per class take in
    # thousands: more of the confident images beat fewer, surer ones (docs/benchmarks.md, section unlabeled).
    pseudo_shares: list[PseudoShare] = Field(
        [0.5, 0.75, 0.9, 0.95, 0.98], min_length=1, description="--unlabeled: pseudo-labelled shares of the folder the "
        "held-out check tries, besides 0"
    )
    pseudo_share: PseudoShare | None = Field(
        None, description="--unlabeled: this share of the folder pseudo-labelled, unchecked; none = as the held-out "
        "check chooses"
    )
    check_seeds: int = Field(3, gt=0, description="judge classifiers trained per share")
    held_out: float = Field(0.3, gt=0, lt=1, description="share of each class's real images the check scores on")
    min_class_images: int = Field(5, ge=2, description="fewest real images of a class for the check to run")
    judge_width: int = Field(16, gt=0, description="the check's judge: channels of its first block")
    judge_steps: int = Field(300, gt=0, description="the check's judge: fewest updates")
    judge_epochs: int = Field(30, gt=0, description="the check's judge: passes over the real images")


class EvalCommandConfig(Section):
    """``ganaug eval``."""

    n: int = Field(2000, ge=2, description="samples to draw with --run")
    features: Literal["domain", "inception"] = Field(
        "domain", description="domain (a classifier trained on --data) or inception"
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
