"""Application code that composes the layers below: a training session, eval, the sample
filters and the augmented-folder writer."""
