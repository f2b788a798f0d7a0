"""Quality metrics measured offline with gantool's own MNIST feature network.

`scores` is numpy-only; `features` trains and caches the feature network (torch);
`evaluator` holds it with the real test split's statistics and scores generated images.
`gantool.assess.quality()` is the user-facing evaluation built on these.
"""

from gantool.toolkit.metrics import scores
from gantool.toolkit.metrics.evaluator import Evaluator, generated_images

__all__ = ["Evaluator", "generated_images", "scores"]
