"""Quality metrics measured offline with gantool's own MNIST feature network.

    from gantool.toolkit.metrics import EvalConfig, evaluate
    result = evaluate("runs/my-run", EvalConfig(n=10_000, data_dir="path/to/mnist"))

`scores` is numpy-only; `features` trains and caches the feature network (torch);
`evaluate` draws samples from a checkpoint or an ONNX file and scores them.
"""

from gantool.toolkit.metrics import scores
from gantool.toolkit.metrics.evaluate import MAX_N, EvalConfig, Evaluator, evaluate, format_table

__all__ = ["EvalConfig", "Evaluator", "MAX_N", "evaluate", "format_table", "scores"]
