"""Typed configs: every default lives in these schemas, nowhere else."""

from ganaug_cli.config.boltzmann import DbnConfig, GibbsOptions, RbmConfig
from ganaug_cli.config.dae import DaeConfig, DaeSampleOptions
from ganaug_cli.config.gan import GanConfig, GanSampleOptions
from ganaug_cli.config.loading import resolve_config, schema_default
from ganaug_cli.config.schema import DataConfig, Section, TrainConfig

__all__ = [
    "DaeConfig",
    "DaeSampleOptions",
    "DataConfig",
    "DbnConfig",
    "GanConfig",
    "GanSampleOptions",
    "GibbsOptions",
    "RbmConfig",
    "Section",
    "TrainConfig",
    "resolve_config",
    "schema_default",
]
