"""Sections every model family shares: the data, the run budget, the device."""

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
COLOR_NAMES = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}


class Section(BaseModel):
    """Base for all config sections: an unknown key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


def _auto_or_bool(value):
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError("must be auto, true or false")


AutoOrBool = Annotated[bool | Literal["auto"], BeforeValidator(_auto_or_bool)]


class DataConfig(Section):
    path: Path | None = Field(None, description="image folder; class = first-level subfolder")
    resolution: int | Literal["auto"] = Field(
        "auto", description="square side in pixels; auto = the family's choice from the data"
    )
    channels: Literal["auto", "gray", "rgb", "rgba"] = Field(
        "auto", description="auto = rgba when some image has transparency, else gray when every image is gray, else rgb"
    )
    resize: Literal["center-crop", "pad", "stretch"] = "center-crop"
    background: tuple[int, int, int] = Field(
        (255, 255, 255), description="colour behind transparent pixels and padding"
    )
    strict: bool = Field(False, description="fail instead of skipping unreadable files")
    cache: bool = Field(True, description="reuse decoded images from the user cache directory")
    workers: int = Field(0, ge=0, description="decoding threads; 0 = one per CPU core")
    exclude: list[str] = Field(
        [], description="files (relative to path) left out; augment lists here the images its held-out check scores on"
    )

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, value):
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 4 or value > 1024:
            raise ValueError("must be 'auto' or a size in pixels between 4 and 1024")
        return value

    @field_validator("background", mode="before")
    @classmethod
    def _background(cls, value):
        if isinstance(value, str):
            text = value.strip().lower()
            if text in COLOR_NAMES:
                return COLOR_NAMES[text]
            if re.fullmatch(r"#[0-9a-f]{6}", text):
                return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
            raise ValueError("must be white, black, gray, #rrggbb or [r, g, b]")
        if isinstance(value, (list, tuple)) and len(value) == 3:
            if all(isinstance(v, int) and 0 <= v <= 255 for v in value):
                return tuple(value)
        raise ValueError("must be white, black, gray, #rrggbb or [r, g, b] with values 0-255")


class TrainConfig(Section):
    """The run budget and bookkeeping shared by all families; each family sets its own defaults."""

    steps: int | None = Field(None, gt=0, description="total optimiser steps of the run")
    epochs: int | None = Field(None, gt=0, description="stop after this many passes over the data")
    max_minutes: float | None = Field(None, gt=0, description="stop after this much wall-clock time")
    batch_size: int = Field(64, gt=0)
    seed: int | None = Field(None, ge=0, description="fixed seed; none = a fresh one, recorded")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    init: Path | None = Field(None, description="start from this run's weights (its latest checkpoint) instead of "
                              "random ones; none = random")
    log_every: int = Field(50, gt=0, description="steps between metrics.jsonl lines")
    checkpoint_every: int = Field(500, gt=0, description="steps between checkpoints")
    keep_checkpoints: int = Field(3, gt=0, description="newest checkpoints kept in the run")
    preview_every: int = Field(500, gt=0, description="steps between preview grids")

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError("must be auto, cpu, cuda, cuda:N or mps")
        return value


def data_config_for(title: str, sizes: tuple[int, ...]) -> type[DataConfig]:
    """A DataConfig whose ``resolution`` is auto or one of the sizes a family's networks support."""

    def supported(value):
        if value != "auto" and value not in sizes:
            raise ValueError(f"the {title} supports auto or {', '.join(map(str, sizes))}")
        return value

    return create_model(f"{title.title()}DataConfig", __base__=DataConfig,
                        __validators__={"_supported": field_validator("resolution")(supported)})
