"""`evaluate(source, EvalConfig)`: quality metrics for a checkpoint or any exported artifact."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from gantool.artifacts import open_generator
from gantool.assess.configs import MAX_N, EvalConfig  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from gantool.toolkit.metrics.evaluator import Scores


@dataclass
class EvalResult:
    """What `gantool eval` measured: the scores and what they were measured on (eval.json)."""

    scores: Scores
    source: str
    kind: str  # "pytorch", or the file's "format:variant" ("onnx:int8")
    model: Optional[str]
    n: int
    seed: int
    dataset: str
    reference: str  # "<dataset> test split"
    fid_floor: float  # real training digits against the test digits, same sample size
    feature_net_test_accuracy: Optional[float]
    generation_images_per_s: float
    config: EvalConfig

    def to_dict(self) -> dict[str, Any]:
        """eval.json: the scores at the top level beside the rest."""
        out = {k: v for k, v in vars(self).items() if k not in ("scores", "config")}
        return {**self.scores.to_dict(), **out, "config": asdict(self.config)}


def evaluate(source: str | Path, cfg: EvalConfig, progress: bool = True) -> EvalResult:
    from gantool.toolkit.metrics.evaluator import Evaluator, generated_images

    cfg.validate()
    generator = open_generator(source)  # a seeded file is scored on its seeds seed .. seed+n-1
    evaluator = Evaluator.for_model(
        generator.metadata.train_config,
        cfg.dataset,
        cfg.data_dir,
        seed=cfg.feature_seed,
        progress=progress,
    )
    t0 = time.perf_counter()
    images, labels = generated_images(generator, cfg.n, cfg.seed)
    gen_s = time.perf_counter() - t0
    kind = (
        "pytorch"
        if generator.backend == "pytorch"
        else f"{generator.metadata.artifact_format or generator.backend}:{generator.variant}"
    )
    return EvalResult(
        scores=evaluator.score(images, labels, cfg.pr_samples, cfg.pr_k, cfg.seed),
        source=str(source),
        kind=kind,
        model=generator.metadata.model,
        n=cfg.n,
        seed=cfg.seed,
        dataset=evaluator.dataset,
        reference=f"{evaluator.reference} test split",
        fid_floor=evaluator.floor(cfg.n, cfg.seed),
        feature_net_test_accuracy=evaluator.extractor.test_accuracy,
        generation_images_per_s=cfg.n / max(gen_s, 1e-9),
        config=cfg,
    )


def format_table(result: EvalResult) -> str:
    s = result.scores
    rows = [
        ("FID", f"{s.fid:.2f}"),
        ("FID floor (real train vs test)", f"{result.fid_floor:.2f}"),
        ("Inception-Score analogue", f"{s.inception_score:.3f}"),
        ("class coverage", f"{s.coverage:.4f}"),
        ("precision", f"{s.precision:.3f}"),
        ("recall", f"{s.recall:.3f}"),
    ]
    if s.accuracy is not None:
        rows.append(("conditional accuracy", f"{s.accuracy:.3f}"))
    acc = result.feature_net_test_accuracy
    rows.append(("feature net test accuracy", "-" if acc is None else f"{acc:.4f}"))
    width = max(len(r[0]) for r in rows)
    head = f"{result.source} ({result.kind}, {result.n} samples vs {result.reference})"
    return "\n".join([head] + [f"  {name:<{width}}  {value}" for name, value in rows])


def to_json(result: EvalResult) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=True)


def default_json(source: str | Path) -> Path:
    """eval.json beside the model (inside a run or export dir)."""
    source = Path(source)
    return (source if source.is_dir() else source.parent) / "eval.json"
