"""Typed configs: every default lives in these schemas, nowhere else."""

from ganaug_cli.config.families import CONFIG_SCHEMAS, DbnConfig, GanConfig, RbmConfig
from ganaug_cli.config.loading import resolve_config, schema_default
from ganaug_cli.config.schema import DataConfig, TrainConfig

__all__ = [
    "CONFIG_SCHEMAS",
    "DataConfig",
    "DbnConfig",
    "GanConfig",
    "RbmConfig",
    "TrainConfig",
    "resolve_config",
    "schema_default",
]
