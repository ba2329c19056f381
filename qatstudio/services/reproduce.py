"""The guide's three tables, measured live: float vs 3-bit, pruning, and QAT compiled to FHE."""
from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

from ..engine.config import DataConfig, ExperimentConfig, ModelKind
from ..engine.data import make_dataset
from ..engine.pipeline import run_experiment
from .formatting import fmt_percent, fmt_seconds
from .keys import KeyCache


@dataclass
class ReproducePlan:
    seeds: int
    epochs: int
    encrypted_samples: int  # per QAT row, on its first seed

    @classmethod
    def fast(cls) -> "ReproducePlan":
        return cls(seeds=2, epochs=ExperimentConfig().epochs, encrypted_samples=2)

    @classmethod
    def full(cls) -> "ReproducePlan":
        return cls(seeds=5, epochs=ExperimentConfig().epochs, encrypted_samples=5)


TABLE_NEURONS = [10, 30, 100]
TABLE_PRUNED = [10, 30]  # non-zero inputs per neuron of a 100-neuron net
TABLE_QAT = [20, 30]  # pruning budgets of the 100-neuron 3-bit QAT net
BITS = 3

# The guide's own figures (qat-step-by-step-guide.md), keyed like the rows; None where it has none.
GUIDE = {
    "table1": {10: dict(fp32_accuracy=0.6870, quantized_accuracy=0.5644, mean_accumulator_bits=6.6),
               30: dict(fp32_accuracy=0.8332, quantized_accuracy=0.5554, mean_accumulator_bits=6.9),
               100: dict(fp32_accuracy=0.8806, quantized_accuracy=0.5650, mean_accumulator_bits=7.4)},
    "table2": {10: dict(fp32_accuracy=0.8250, quantized_accuracy=0.5774, mean_accumulator_bits=6.6),
               30: dict(fp32_accuracy=0.8806, quantized_accuracy=0.5782, mean_accumulator_bits=6.8)},
    "table3": {20: {},
               30: dict(brevitas_accuracy=0.954, fhe_simulated_accuracy=0.924, accumulator_bits=7)},
}
# Concrete ML 1.9.0 on the same generator, one split, 2 cores (its own compile_torch_model for tables
# 1 and the guide's QATPrunedSimpleNet for table 3).
CONCRETE_ML = {
    "table1": {10: dict(fp32_accuracy=0.504, quantized_accuracy=0.544, mean_accumulator_bits=7),
               30: dict(fp32_accuracy=0.778, quantized_accuracy=0.572, mean_accumulator_bits=7),
               100: dict(fp32_accuracy=0.882, quantized_accuracy=0.592, mean_accumulator_bits=7)},
    "table2": {10: {}, 30: {}},
    "table3": {20: {},
               30: dict(brevitas_accuracy=0.948, fhe_simulated_accuracy=0.948, accumulator_bits=8,
                        pbs_count=200, fhe_latency_s=58.6, keygen_s=125.0)},
}


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _spread(values) -> Optional[list]:
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def reproduce(
    plan: ReproducePlan,
    progress: Optional[Callable[[str], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    insecure_key_cache=None,
) -> dict:
    """Run every configuration of the three tables; returns {"table1": [rows], ...}.

    Seed k draws the k-th data set (the guide's generator: its jitter and split) and initialises
    the model with seed k, so the spread over seeds covers both.
    """
    say = progress or (lambda message: None)
    datasets = [make_dataset(DataConfig(seed=seed)) for seed in range(plan.seeds)]
    base = ExperimentConfig(epochs=plan.epochs, bits=BITS)

    def runs(config: ExperimentConfig, label: str, encrypted: int = 0):
        results = []
        for seed, dataset in enumerate(datasets):
            say(f"{label}: seed {seed + 1}/{plan.seeds}")
            results.append(
                run_experiment(
                    config.replace(seed=seed, data={"seed": seed}), dataset, should_stop=should_stop,
                    encrypted_samples=encrypted if seed == 0 else 0, insecure_key_cache=insecure_key_cache,
                    keygen=None if insecure_key_cache else KeyCache().keys_for,
                )
            )
        return results

    def summary(experiments, figures: dict) -> dict:
        """Means over seeds, and [min, max] of each figure under "spread"."""
        figures = {**figures, "ceiling_accuracy": [e.metrics.ceiling_accuracy for e in experiments]}
        row = {key: _mean(values) for key, values in figures.items()}
        row["spread"] = {key: _spread(values) for key, values in figures.items()}
        row["seeds"] = len(experiments)
        row["per_seed"] = [_seed_figures(e) for e in experiments]
        return row

    def float_row(experiments, **keys):
        return {
            **keys,
            "bits": BITS,
            **summary(experiments, {
                "fp32_accuracy": [e.metrics.float_accuracy for e in experiments],
                "quantized_accuracy": [e.metrics.fhe_simulated_accuracy for e in experiments],
                "clear_quantized_accuracy": [e.metrics.clear_accuracy for e in experiments],
                "mean_accumulator_bits": [e.stats.accumulator_bits for e in experiments],
            }),
        }

    tables: dict = {"plan": vars(plan), "table1": [], "table2": [], "table3": []}
    for n_hidden in TABLE_NEURONS:
        config = base.replace(kind=ModelKind.FLOAT, n_hidden=n_hidden)
        tables["table1"].append(float_row(runs(config, f"table 1, {n_hidden} neurons"), n_hidden=n_hidden))
    for budget in TABLE_PRUNED:
        config = base.replace(kind=ModelKind.FLOAT, n_hidden=100, pruning_budget=budget)
        tables["table2"].append(
            float_row(runs(config, f"table 2, 100 neurons pruned to {budget}"), n_hidden=100, pruning_budget=budget)
        )
    for budget in TABLE_QAT:
        config = base.replace(kind=ModelKind.QAT, n_hidden=100, pruning_budget=budget)
        experiments = runs(config, f"table 3, QAT 100 neurons pruned to {budget}", plan.encrypted_samples)
        first = experiments[0].metrics
        row = {
            "pruning_budget": budget,
            "n_hidden": 100,
            "bits": BITS,
            **summary(experiments, {
                "brevitas_accuracy": [e.metrics.brevitas_accuracy for e in experiments],
                "fhe_simulated_accuracy": [e.metrics.fhe_simulated_accuracy for e in experiments],
                "mean_accumulator_bits": [e.stats.accumulator_bits for e in experiments],
                "train_s": [e.history[-1].elapsed_s if e.history else None for e in experiments],
            }),
            "accumulator_bits": max(e.stats.accumulator_bits for e in experiments),
            "pbs_count": experiments[0].stats.pbs_count,
            "fhe_latency_s": first.fhe_latency_s,
            "fhe_executed_samples": first.fhe_executed_samples,
            "fhe_executed_agreement": first.agreement_clear_executed,
            "keygen_s": first.keygen_s,
        }
        tables["table3"].append(row)
    return tables


def _seed_figures(experiment) -> dict:
    return {
        "seed": experiment.config.seed,
        **{k: v for k, v in experiment.metrics.to_dict().items() if v is not None},
        "accumulator_bits": experiment.stats.accumulator_bits,
        "layer_accumulator_bits": [layer.accumulator_bits for layer in experiment.stats.layers],
        "pbs_count": experiment.stats.pbs_count,
        "train_s": experiment.history[-1].elapsed_s if experiment.history else None,
    }


def _bits(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _measured(row: dict, key: str, fmt: Callable) -> str:
    """"mean (min-max)" over seeds, or the mean alone for one seed."""
    spread = row["spread"].get(key)
    if row.get(key) is None or spread is None:
        return "-"
    if row["seeds"] < 2:
        return fmt(row[key])
    return f"{fmt(row[key])} ({fmt(spread[0])}-{fmt(spread[1])})"


def _reference(source: dict, table: str, rows: list, column: str, key: str, fmt: Callable) -> list[str]:
    values = [source[table].get(row[column], {}).get(key) for row in rows]
    return ["-" if value is None else fmt(value) for value in values]


def format_tables(tables: dict) -> str:
    """The three tables as text, laid out like the guide's: for each figure the guide's value, this
    app's (mean and min-max over seeds) and, for accuracies, the ceiling on the same test points."""

    def grid(title, header, rows):
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
        lines = [title, "| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |",
                 "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
        return "\n".join(lines)

    def compared(table, rows, column, label, key, fmt):
        return [
            [f"{label}: guide"] + _reference(GUIDE, table, rows, column, key, fmt),
            [f"{label}: Concrete ML 1.9"] + _reference(CONCRETE_ML, table, rows, column, key, fmt),
            [f"{label}: QAT Studio"] + [_measured(r, key, fmt) for r in rows],
        ]

    def ceiling(rows):
        return [["ceiling (best any classifier can reach)"] + [_measured(r, "ceiling_accuracy", fmt_percent)
                                                               for r in rows]]

    def float_table(title, first, table, column):
        rows = tables[table]
        return grid(title, [first] + [str(r[column]) for r in rows],
                    compared(table, rows, column, "fp32 accuracy", "fp32_accuracy", fmt_percent)
                    + compared(table, rows, column, f"{BITS}bit accuracy", "quantized_accuracy", fmt_percent)
                    + ceiling(rows)
                    + compared(table, rows, column, "mean accumulator size", "mean_accumulator_bits", _bits))

    rows3 = tables["table3"]
    parts = [
        float_table("Table 1: float MLP, 3-bit post-training quantization", "neurons", "table1", "n_hidden"),
        float_table("Table 2: 100 neurons pruned, 3-bit post-training quantization", "non-zero neurons",
                    "table2", "pruning_budget"),
        grid("Table 3: quantization-aware training, 3 bits, 100 neurons", ["non-zero neurons"]
             + [str(r["pruning_budget"]) for r in rows3],
             compared("table3", rows3, "pruning_budget", "3bit accuracy Brevitas", "brevitas_accuracy", fmt_percent)
             + compared("table3", rows3, "pruning_budget", "3bit accuracy in FHE", "fhe_simulated_accuracy",
                        fmt_percent)
             + ceiling(rows3)
             + [["accumulator size: guide"] + _reference(GUIDE, "table3", rows3, "pruning_budget",
                                                         "accumulator_bits", str),
                ["accumulator size: Concrete ML 1.9"] + _reference(CONCRETE_ML, "table3", rows3, "pruning_budget",
                                                                   "accumulator_bits", str),
                ["accumulator size: QAT Studio (max over seeds)"] + [str(r["accumulator_bits"]) for r in rows3],
                ["FHE latency per sample: Concrete ML 1.9"] + _reference(
                    CONCRETE_ML, "table3", rows3, "pruning_budget", "fhe_latency_s", fmt_seconds),
                ["FHE latency per sample: QAT Studio"] + [fmt_seconds(r["fhe_latency_s"]) for r in rows3]]),
    ]
    plan = tables["plan"]
    parts.append(
        f"({plan['seeds']} seeds per column, each its own jitter, split and initialisation; {plan['epochs']} "
        f"epochs. QAT Studio: mean (min-max) over seeds; \"{BITS}bit accuracy\" is FHE-simulated. The guide's "
        f"and Concrete ML's figures are single runs.)"
    )
    return "\n\n".join(parts)


def stderr_progress(stream: TextIO = sys.stderr) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[reproduce] {message}", file=stream, flush=True)

    return say
