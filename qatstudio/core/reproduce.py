"""The guide's three tables, measured live: float vs 3-bit, pruning, and QAT compiled to FHE."""
from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

from .config import ExperimentConfig
from .data import make_dataset
from .experiment import run_experiment


@dataclass
class ReproducePlan:
    seeds: int
    epochs: int
    encrypted_samples: int  # per QAT row, on its first seed

    @classmethod
    def fast(cls) -> "ReproducePlan":
        return cls(seeds=2, epochs=12, encrypted_samples=2)

    @classmethod
    def full(cls) -> "ReproducePlan":
        return cls(seeds=5, epochs=12, encrypted_samples=5)


TABLE_NEURONS = [10, 30, 100]
TABLE_PRUNED = [10, 30]  # non-zero inputs per neuron of a 100-neuron net
TABLE_QAT = [20, 30]  # pruning budgets of the 100-neuron 3-bit QAT net
BITS = 3


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def reproduce(
    plan: ReproducePlan,
    progress: Optional[Callable[[str], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    insecure_key_cache=None,
) -> dict:
    """Run every configuration of the three tables; returns {"table1": [rows], ...}."""
    say = progress or (lambda message: None)
    dataset = make_dataset(ExperimentConfig().data)
    base = ExperimentConfig(epochs=plan.epochs, bits=BITS)

    def runs(config: ExperimentConfig, label: str, encrypted: int = 0):
        results = []
        for seed in range(plan.seeds):
            say(f"{label}: seed {seed + 1}/{plan.seeds}")
            results.append(
                run_experiment(
                    config.replace(seed=seed), dataset, should_stop=should_stop,
                    encrypted_samples=encrypted if seed == 0 else 0, insecure_key_cache=insecure_key_cache,
                )
            )
        return results

    def float_row(experiments, **keys):
        return {
            **keys,
            "bits": BITS,
            "seeds": len(experiments),
            "fp32_accuracy": _mean(e.metrics.float_accuracy for e in experiments),
            "quantized_accuracy": _mean(e.metrics.fhe_simulated_accuracy for e in experiments),
            "clear_quantized_accuracy": _mean(e.metrics.clear_accuracy for e in experiments),
            "mean_accumulator_bits": _mean(e.report.accumulator_bits for e in experiments),
            "per_seed": [_seed_figures(e) for e in experiments],
        }

    tables: dict = {"plan": vars(plan), "table1": [], "table2": [], "table3": []}
    for n_hidden in TABLE_NEURONS:
        config = base.replace(kind="float", n_hidden=n_hidden)
        tables["table1"].append(float_row(runs(config, f"table 1, {n_hidden} neurons"), n_hidden=n_hidden))
    for budget in TABLE_PRUNED:
        config = base.replace(kind="pruned", n_hidden=100, pruning_budget=budget)
        tables["table2"].append(
            float_row(runs(config, f"table 2, 100 neurons pruned to {budget}"), n_hidden=100, pruning_budget=budget)
        )
    for budget in TABLE_QAT:
        config = base.replace(kind="qat", n_hidden=100, pruning_budget=budget)
        experiments = runs(config, f"table 3, QAT 100 neurons pruned to {budget}", plan.encrypted_samples)
        first = experiments[0].metrics
        tables["table3"].append({
            "pruning_budget": budget,
            "n_hidden": 100,
            "bits": BITS,
            "seeds": len(experiments),
            "brevitas_accuracy": _mean(e.metrics.brevitas_accuracy for e in experiments),
            "fhe_simulated_accuracy": _mean(e.metrics.fhe_simulated_accuracy for e in experiments),
            "accumulator_bits": max(e.report.accumulator_bits for e in experiments),
            "mean_accumulator_bits": _mean(e.report.accumulator_bits for e in experiments),
            "pbs_count": experiments[0].report.pbs_count,
            "fhe_latency_s": first.fhe_latency_s,
            "fhe_executed_samples": first.fhe_executed_samples,
            "fhe_executed_agreement": first.agreement_clear_executed,
            "keygen_s": first.keygen_s,
            "per_seed": [_seed_figures(e) for e in experiments],
        })
    return tables


def _seed_figures(experiment) -> dict:
    return {
        "seed": experiment.config.seed,
        **{k: v for k, v in experiment.metrics.to_dict().items() if v is not None},
        "accumulator_bits": experiment.report.accumulator_bits,
        "layer_accumulator_bits": [layer.accumulator_bits for layer in experiment.report.layers],
        "pbs_count": experiment.report.pbs_count,
        "train_s": experiment.history[-1].elapsed_s if experiment.history else None,
    }


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _bits(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_tables(tables: dict) -> str:
    """The three tables as text, laid out like the guide's."""

    def grid(title, header, rows):
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
        lines = [title, "| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |",
                 "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
        return "\n".join(lines)

    def float_table(title, first, rows, key):
        return grid(title, [first] + [str(r[key]) for r in rows], [
            ["fp32 accuracy"] + [_pct(r["fp32_accuracy"]) for r in rows],
            [f"{BITS}bit accuracy (FHE simulated)"] + [_pct(r["quantized_accuracy"]) for r in rows],
            ["mean accumulator size"] + [_bits(r["mean_accumulator_bits"]) for r in rows],
        ])

    rows3 = tables["table3"]
    parts = [
        float_table("Table 1: float MLP, 3-bit post-training quantization", "neurons", tables["table1"], "n_hidden"),
        float_table("Table 2: 100 neurons pruned, 3-bit post-training quantization", "non-zero neurons",
                    tables["table2"], "pruning_budget"),
        grid("Table 3: quantization-aware training, 3 bits, 100 neurons", ["non-zero neurons"]
             + [str(r["pruning_budget"]) for r in rows3], [
            ["3bit accuracy brevitas"] + [_pct(r["brevitas_accuracy"]) for r in rows3],
            ["3bit accuracy in FHE (simulated)"] + [_pct(r["fhe_simulated_accuracy"]) for r in rows3],
            ["accumulator size (max over seeds)"] + [str(r["accumulator_bits"]) for r in rows3],
            ["FHE latency per sample"] + ["-" if r["fhe_latency_s"] is None else f"{r['fhe_latency_s']:.2f} s"
                                          for r in rows3],
        ]),
    ]
    plan = tables["plan"]
    parts.append(f"({plan['seeds']} seeds per column, {plan['epochs']} epochs; accuracies are means over seeds)")
    return "\n\n".join(parts)


def stderr_progress(stream: TextIO = sys.stderr) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[reproduce] {message}", file=stream, flush=True)

    return say
