"""The default recipe (ExperimentConfig.default_recipe) on every generated data set: accuracy against the ceiling over data seeds,
and the circuit's cost (accumulator bits, PBS, latency per encrypted sample, keys) on the first seed.

    .venv/bin/python benchmarks/data_sets.py [--seeds 3] [--samples 3] [--json FILE] [--only SHAPE ...]

Each seed is both the data seed and the model seed. The integer model in the clear is what FHE
computes (the simulation's agreement is printed); keys are generated fresh.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from qatstudio.engine.config import SHAPES, DataConfig, ExperimentConfig
from qatstudio.engine.data import make_dataset
from qatstudio.engine.evaluate import evaluate_encrypted, evaluate_simulated
from qatstudio.engine.pipeline import compile_for, measured_experiment
from qatstudio.engine.training import train
from qatstudio.services.formatting import SHAPE_TITLES, fmt_percent, fmt_seconds

def measure(shape: str, seeds: int, samples: int) -> dict:
    runs = []
    for seed in range(seeds):
        config = ExperimentConfig.default_recipe(seed=seed, data=DataConfig.for_shape(shape, seed=seed))
        dataset = make_dataset(config.data)
        start = time.perf_counter()
        result = train(config, dataset)
        experiment = measured_experiment(config, dataset, result, [])
        row = dict(seed=seed, accuracy=experiment.metrics.clear_accuracy,
                   ceiling=experiment.metrics.ceiling_accuracy, train_s=time.perf_counter() - start)
        if seed == 0:
            compiled = compile_for(config, experiment.integer_model)
            metrics = evaluate_simulated(experiment.metrics, dataset, compiled)
            keys = compiled.keygen() if samples else None
            if samples:
                evaluate_encrypted(metrics, dataset, compiled, samples, keys)
            row.update(simulated=metrics.fhe_simulated_accuracy, agreement=metrics.agreement_clear_simulated,
                       executed_agreement=metrics.agreement_clear_executed, bits=compiled.stats.accumulator_bits,
                       lookup_bits=compiled.stats.lookup_bits, key_mb=compiled.stats.key_bytes / 1e6,
                       pbs=compiled.stats.pbs_count, latency_s=metrics.fhe_latency_s,
                       keygen_s=keys.seconds if keys else None)
        runs.append(row)
        print(f"  {shape} seed {seed}: {fmt_percent(row['accuracy'])} (ceiling {fmt_percent(row['ceiling'])})",
              file=sys.stderr, flush=True)
    gaps = [r["accuracy"] - r["ceiling"] for r in runs]
    return dict(shape=shape, runs=runs, mean_accuracy=statistics.mean(r["accuracy"] for r in runs),
                mean_ceiling=statistics.mean(r["ceiling"] for r in runs), gap_min=min(gaps), gap_max=max(gaps),
                **{k: runs[0][k] for k in ("agreement", "executed_agreement", "bits", "lookup_bits", "key_mb", "pbs",
                                           "latency_s", "keygen_s")})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=3, help="encrypted samples on the first seed")
    parser.add_argument("--only", nargs="*", choices=SHAPES)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows = [measure(shape, args.seeds, args.samples) for shape in args.only or SHAPES]
    print("| data set | QAT accuracy (mean) | ceiling (mean) | accuracy - ceiling (min to max) | FHE = clear "
          "| accumulator | widest lookup | PBS | keys | latency / sample | key generation |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {SHAPE_TITLES[r['shape']]} | {fmt_percent(r['mean_accuracy'])} | {fmt_percent(r['mean_ceiling'])} "
              f"| {100 * r['gap_min']:+.1f} to {100 * r['gap_max']:+.1f} | {fmt_percent(r['agreement'])} "
              f"| {r['bits']} bits | {r['lookup_bits']} bits | {r['pbs']} | {r['key_mb']:.0f} MB "
              f"| {fmt_seconds(r['latency_s'])} | {fmt_seconds(r['keygen_s'])} |")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
