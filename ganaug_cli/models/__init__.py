"""Model families' networks. ``build_model`` rebuilds a sampling model from a checkpoint."""

from ganaug_cli.models.base import GenerativeModel

SAMPLING_MODELS: dict[str, str] = {
    "gan": "ganaug_cli.models.gan:Generator",
    "rbm": "ganaug_cli.models.rbm:RBM",
    "dbn": "ganaug_cli.models.dbn:DBN",
}


def build_model(family: str, args: dict) -> GenerativeModel:
    """An untrained instance of ``family``'s sampling model with the stored arguments."""
    import importlib

    module_name, class_name = SAMPLING_MODELS[family].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**args)


__all__ = ["GenerativeModel", "SAMPLING_MODELS", "build_model"]
