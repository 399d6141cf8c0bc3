"""What samples are worth, judged against the real folder: the domain (judge) classifier,
feature metrics (FID, KID, precision/recall, near-copies) and the downstream accuracy check."""
