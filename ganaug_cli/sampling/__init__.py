"""Sampling: load a trained run, generate batches, write images and a manifest."""

from ganaug_cli.sampling.generate import SampleReport, SampleRequest, plan_counts, sample_images
from ganaug_cli.sampling.source import LoadedModel, load_sampling_model, resolve_checkpoint

__all__ = [
    "LoadedModel",
    "SampleReport",
    "SampleRequest",
    "load_sampling_model",
    "plan_counts",
    "resolve_checkpoint",
    "sample_images",
]
