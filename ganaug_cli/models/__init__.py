"""Model families' networks and energies, and the Boltzmann models' likelihood estimators."""

from ganaug_cli.models.base import GenerativeModel

__all__ = ["GenerativeModel"]
