"""Core speed figures: training per epoch (QAT, 100 neurons), compile, key generation (fresh and
cached), FHE latency per sample, PBS count and latency per PBS.

    .venv/bin/python benchmarks/core_speed.py [--budget 20] [--samples 3] [--json FILE]

Keys go to a temporary key cache: the first are fresh, the second loaded from it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=20, help="pruning budget of the 100-neuron QAT net")
    parser.add_argument("--samples", type=int, default=3, help="encrypted samples to time")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("QATSTUDIO_HOME", tempfile.mkdtemp(prefix="qatstudio-bench-"))

    import torch

    from qatstudio.engine.config import ExperimentConfig, ModelKind
    from qatstudio.engine.data import make_dataset
    from qatstudio.engine.fhe import compile_model
    from qatstudio.engine.pipeline import quantize
    from qatstudio.engine.training import train
    from qatstudio.services.keys import KeyCache

    config = ExperimentConfig(kind=ModelKind.QAT, n_hidden=100, bits=3, pruning_budget=args.budget)
    dataset = make_dataset(config.data)
    figures: dict = {"config": config.to_dict(), "torch_threads": torch.get_num_threads()}

    result = train(config, dataset)
    figures["train_s"] = result.elapsed_s
    figures["train_epoch_s"] = result.elapsed_s / len(result.history)
    figures["test_accuracy"] = result.test_accuracy

    start = time.perf_counter()
    _, quantized = quantize(config, result.model, dataset)
    figures["lower_s"] = time.perf_counter() - start
    compiled = compile_model(quantized)
    report = compiled.stats
    figures.update(compile_s=report.compile_s, accumulator_bits=report.accumulator_bits,
                   pbs_count=report.pbs_count, pbs_by_precision=report.pbs_by_precision,
                   key_mb=report.key_bytes / 1e6)

    start = time.perf_counter()
    compiled.simulate(quantized.quantize_inputs(dataset.x_test))
    figures["simulate_500_s"] = time.perf_counter() - start

    cache = KeyCache(Path(tempfile.mkdtemp(prefix="qatstudio-keys-")))
    fresh = cache.keys_for(compiled)
    cached = cache.keys_for(compiled)
    figures.update(keygen_fresh_s=fresh.seconds, keygen_cached_s=cached.seconds)
    run = compiled.run_encrypted(quantized.quantize_inputs(dataset.x_test[: args.samples]))
    latency = statistics.median(run.latencies_s)
    figures.update(fhe_latency_s=latency, fhe_latencies_s=run.latencies_s,
                   latency_per_pbs_ms=1000 * latency / max(1, report.pbs_count))

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if key != "config":
            shown = f"{value:.3f}" if isinstance(value, float) else value
            print(f"{key.ljust(width)}  {shown}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
