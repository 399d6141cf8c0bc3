"""Training: one shared run loop and one trainer per model family."""
