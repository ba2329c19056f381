"""How the QAT input quantizer's step is chosen, measured: test accuracy against the ceiling.

    .venv/bin/python benchmarks/input_step.py [--seeds 5] [--budgets 20 30] [--json FILE]

For each data seed (the guide's generator: its jitter and split) and pruning budget, the default
QAT recipe (3 bits, 100 neurons) is trained with the input step chosen by each method:
- centre of near-best run: the app's choice (``engine.calibration.best_input_scale``);
- best on held-out points: the single best step, majorities counted on 80% of the training points
  and scored on the other 20%;
- best in-sample, coarse grid: the single best step over steps spanning the data with 1..levels
  steps in eighths (the app's choice before the guide's data was the default);
- data extent: the data's maximum spread over the levels, fixed;
- Brevitas trainable: the extent as its start, then learned by Brevitas with the weights.
The integer model is bit-exact with Brevitas, so the accuracy printed is also the FHE accuracy.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=[20, 30])
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    import torch

    from qatstudio.engine.calibration import best_input_scale, candidate_steps, step_scores
    from qatstudio.engine.config import DataConfig, ExperimentConfig, ModelKind
    from qatstudio.engine.data import make_dataset
    from qatstudio.engine.evaluate import evaluate_clear
    from qatstudio.engine.lowering import lower
    from qatstudio.engine.models import BrevitasMLP
    from qatstudio.engine.training import train
    from qatstudio.services.formatting import fmt_percent

    def held_out(x, y, levels):
        order = np.random.default_rng(0).permutation(len(x))
        fit, scored = order[: len(x) * 4 // 5], order[len(x) * 4 // 5:]
        steps = candidate_steps(x, levels, signed=False)
        return float(steps[np.argmax(step_scores(x[fit], y[fit], steps, levels, False, x[scored], y[scored]))])

    def coarse_in_sample(x, y, levels):
        steps = candidate_steps(x, levels, signed=False, per_level=8)
        return float(steps[np.argmax(step_scores(x, y, steps, levels, False))])  # first = coarsest of ties

    def extent(x, y, levels):
        return float(x.max()) / levels

    methods = {
        "centre of near-best run (app)": (lambda x, y, levels: best_input_scale(x, y, levels, False), False),
        "best on held-out points": (held_out, False),
        "best in-sample, coarse grid (before)": (coarse_in_sample, False),
        "data extent, fixed": (extent, False),
        "Brevitas trainable (from extent)": (extent, True),
    }
    rows = []
    for budget in args.budgets:
        for seed in range(args.seeds):
            config = ExperimentConfig(kind=ModelKind.QAT, n_hidden=100, bits=3, pruning_budget=budget, seed=seed,
                                      data=DataConfig(seed=seed))
            dataset = make_dataset(config.data)
            levels = 2**config.bits - 1
            for name, (choose, trainable) in methods.items():
                torch.manual_seed(config.seed)
                model = BrevitasMLP.for_config(config)
                step = choose(dataset.x_train, dataset.y_train, levels)
                model.set_input_step(step, trainable=trainable)
                start = time.perf_counter()
                result = train(config, dataset, model=model)
                quantized = lower(result.model, dataset.x_train)
                metrics = evaluate_clear(dataset, quantized, result.model)
                row = dict(method=name, budget=budget, seed=seed, step=float(quantized.input_scale),
                           accuracy=metrics.brevitas_accuracy, clear_accuracy=metrics.clear_accuracy,
                           ceiling=dataset.ceiling_accuracy, accumulator_bits=quantized.accumulator_bits,
                           train_s=time.perf_counter() - start)
                rows.append(row)
                print(f"[input step] budget {budget} seed {seed} {name}: step {row['step']:.4f}, "
                      f"{fmt_percent(row['accuracy'])} (ceiling {fmt_percent(row['ceiling'])})",
                      file=sys.stderr, flush=True)

    print("| input step | budget | step (min-max) | accuracy - ceiling, mean (min-max) | within 0.5 point | "
          "max accumulator |")
    print("|---|---|---|---|---|---|")
    for budget in args.budgets:
        for name in methods:
            mine = [r for r in rows if r["method"] == name and r["budget"] == budget]
            gaps = [100 * (r["accuracy"] - r["ceiling"]) for r in mine]
            steps = [r["step"] for r in mine]
            print(f"| {name} | {budget} | {statistics.fmean(steps):.4f} ({min(steps):.4f}-{max(steps):.4f}) | "
                  f"{statistics.fmean(gaps):+.1f} ({min(gaps):+.1f} to {max(gaps):+.1f}) | "
                  f"{sum(g >= -0.5 for g in gaps)}/{len(gaps)} | {max(r['accumulator_bits'] for r in mine)} |")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
