"""ganaug: synthetic training images from small image folders."""

__version__ = "0.1.0"
