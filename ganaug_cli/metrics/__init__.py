"""Model-quality metrics: the RBM's likelihood estimates (AIS, exact log Z, pseudo-likelihood)."""
