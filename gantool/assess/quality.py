"""`evaluate(source, EvalConfig)`: quality metrics for a checkpoint or any exported artifact."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gantool.artifacts import open_generator
from gantool.assess.configs import MAX_N, EvalConfig  # noqa: F401  (re-exported)


def evaluate(source: str | Path, cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    from gantool.toolkit.metrics.evaluator import Evaluator, generated_images

    cfg.validate()
    generator = open_generator(source)  # a seeded file is scored on its seeds seed .. seed+n-1
    evaluator = Evaluator.for_model(
        generator.metadata.get("train_config") or {},
        cfg.dataset,
        cfg.data_dir,
        seed=cfg.feature_seed,
        progress=progress,
    )
    t0 = time.perf_counter()
    images, labels = generated_images(generator, cfg.n, cfg.seed)
    gen_s = time.perf_counter() - t0
    result = evaluator.score(images, labels, cfg.pr_samples, cfg.pr_k, cfg.seed)
    kind = (
        "pytorch"
        if generator.backend == "pytorch"
        else f"{generator.metadata.get('artifact_format', generator.backend)}:{generator.variant}"
    )
    result.update(
        {
            "source": str(source),
            "kind": kind,
            "model": generator.metadata.get("model"),
            "n": cfg.n,
            "seed": cfg.seed,
            "dataset": evaluator.dataset,
            "reference": f"{evaluator.reference} test split",
            "fid_floor": evaluator.floor(cfg.n, cfg.seed),
            "feature_net_test_accuracy": evaluator.extractor.test_accuracy,
            "generation_images_per_s": cfg.n / max(gen_s, 1e-9),
            "config": asdict(cfg),
        }
    )
    return result


def format_table(result: dict[str, Any]) -> str:
    rows = [
        ("FID", f"{result['fid']:.2f}"),
        ("FID floor (real train vs test)", f"{result['fid_floor']:.2f}"),
        ("Inception-Score analogue", f"{result['inception_score']:.3f}"),
        ("class coverage", f"{result['coverage']:.4f}"),
        ("precision", f"{result['precision']:.3f}"),
        ("recall", f"{result['recall']:.3f}"),
    ]
    if "class_accuracy" in result:
        rows.append(("conditional accuracy", f"{result['class_accuracy']['overall']:.3f}"))
    acc = result.get("feature_net_test_accuracy")
    rows.append(("feature net test accuracy", "-" if acc is None else f"{acc:.4f}"))
    width = max(len(r[0]) for r in rows)
    head = f"{result['source']} ({result['kind']}, {result['n']} samples vs {result['reference']})"
    return "\n".join([head] + [f"  {name:<{width}}  {value}" for name, value in rows])


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=True)


def default_json(source: str | Path) -> Path:
    """eval.json beside the model (inside a run or export dir)."""
    source = Path(source)
    return (source if source.is_dir() else source.parent) / "eval.json"
