"""One run's figures as a flat row: what `train --json` writes and the optimizer's front lists."""
from __future__ import annotations

import dataclasses

from typing import Optional

from ..engine.config import ExperimentConfig
from ..engine.cost import key_cost
from ..engine.evaluate import Metrics
from ..engine.fhe import CircuitStats
from ..engine.pipeline import Experiment


def figures_row(config: ExperimentConfig, m: Metrics, stats: Optional[CircuitStats]) -> dict:
    """A run's configuration, accuracies (validation chose, test reports) and circuit, as a flat row:
    from an experiment or from its record in the history alike."""
    row = {
        "config": config.to_dict(),
        "validation_accuracy": m.validation_accuracy,
        "test_accuracy": m.clear_accuracy,
        "ceiling_accuracy": m.ceiling_accuracy,
        "brevitas_accuracy": m.brevitas_accuracy,
        "float_accuracy": m.float_accuracy,
        "fhe_simulated_accuracy": m.fhe_simulated_accuracy,
        "agreement_clear_simulated": m.agreement_clear_simulated,
        "fhe_executed_accuracy": m.fhe_executed_accuracy,
        "fhe_executed_samples": m.fhe_executed_samples,
        "agreement_clear_executed": m.agreement_clear_executed,
        "class_accuracy": m.class_accuracy,
        "latency_s": m.fhe_latency_s,
        "warmup_s": m.fhe_warmup_s,
        "keygen_s": m.keygen_s,
        "keygen_from_cache": m.keygen_from_cache,
    }
    if stats is not None:
        cost = key_cost(stats)
        row.update(
            accumulator_bits=stats.accumulator_bits,
            lookup_bits=stats.lookup_bits,
            pbs=stats.pbs_count,
            pbs_by_precision={str(bits): count for bits, count in stats.pbs_by_precision.items()},
            key_bytes=stats.key_bytes,
            predicted_keygen_s=cost.keygen_s,
            predicted_memory_bytes=cost.memory_bytes,
            compile_s=stats.compile_s,
            layers=[dataclasses.asdict(layer) for layer in stats.layers],
        )
    return row


def result_row(experiment: Experiment) -> dict:
    """Every figure of a run: ``figures_row`` and how training chose and took."""
    return {**figures_row(experiment.config, experiment.metrics, experiment.stats),
            "kept_epoch": experiment.kept_epoch, "kept_restart": experiment.kept_restart,
            "stopped_early": experiment.stopped_early, "train_s": experiment.train_s}
