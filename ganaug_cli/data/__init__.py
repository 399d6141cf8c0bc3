"""Image folders in: scanning, decoding, caching."""

from ganaug_cli.data.folder import ImageFolder, load_image_folder

__all__ = ["ImageFolder", "load_image_folder"]
