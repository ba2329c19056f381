"""How sweeps scale on Dask: the same 16-run sweep (small QAT nets, trained, compiled and
FHE-simulated) in this process one run after another (with torch's default thread count, then with
one torch thread as each Dask worker uses), then on a local cluster of 1, 2 and N worker processes.
Prints runs per minute and the speed-up over both in-process baselines.

    .venv/bin/python benchmarks/sweep_scaling.py [--epochs 2] [--workers 1 2 4] [--json FILE]

A cluster's time includes starting it (its start-up is also printed apart). Runs go to a
temporary history, never the user's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every run")
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="local cluster sizes to measure (default: 1, 2 and the core count if larger)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("QATSTUDIO_HOME", tempfile.mkdtemp(prefix="qatstudio-bench-"))

    from qatstudio.engine.config import ExperimentConfig, ModelKind
    from qatstudio.services.cluster import ClusterReady, ClusterSettings
    from qatstudio.services.history import History
    from qatstudio.services.datasets import TableStore
    from qatstudio.services.sweep import SweepPlan, run_one, run_sweep

    plan = SweepPlan(ExperimentConfig(kind=ModelKind.QAT, epochs=args.epochs), neurons=[8, 12, 16, 20], bits=[3],
                     budgets=[None, 4], seeds=[0, 1])
    configs, skipped = plan.configs()
    if len(configs) != 16:
        print(f"expected 16 runs, the plan makes {len(configs)} (skipped: {skipped})", file=sys.stderr)
        return 1
    cores = os.cpu_count() or 1
    sizes = args.workers or sorted({1, 2, cores})

    import torch

    rows = []
    print(f"16 runs (QAT 3-bit, 8-20 neurons, budgets off/4, 2 seeds, {args.epochs} epochs), "
          f"{cores} cores", file=sys.stderr)
    for threads in (torch.get_num_threads(), 1):  # the baselines: one run after another in this process
        torch.set_num_threads(threads)
        start = time.perf_counter()
        for config in configs:
            if run_one(config, TableStore()) is None:
                return 1
        rows.append({"where": f"in-process, {threads} torch thread{'s' if threads != 1 else ''}", "workers": 0,
                     "wall_s": time.perf_counter() - start, "startup_s": 0.0})
        print(f"  {rows[-1]['where']}: {rows[-1]['wall_s']:.1f} s", file=sys.stderr)

    for workers in sizes:
        ready_at = []

        def note(message, ready_at=ready_at):
            if isinstance(message, ClusterReady):
                ready_at.append(time.perf_counter())

        history = History(tempfile.mkdtemp(prefix="sweep-history-"))
        start = time.perf_counter()
        result = run_sweep(plan, TableStore(), history, note, cluster=ClusterSettings(workers=workers))
        wall = time.perf_counter() - start
        if len(result.records) != 16:
            print(f"  {workers} workers: only {len(result.records)} runs finished: {result.failures}",
                  file=sys.stderr)
            return 1
        rows.append({"where": "local cluster", "workers": workers, "wall_s": wall, "startup_s": ready_at[0] - start})
        print(f"  {workers} workers: {wall:.1f} s", file=sys.stderr)

    default, single = rows[0]["wall_s"], rows[1]["wall_s"]
    print("\n| where | workers | wall time | of which cluster start | runs per minute | speed-up | "
          "speed-up vs 1 torch thread |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        row["runs_per_min"] = 16 / row["wall_s"] * 60
        row["speedup"] = default / row["wall_s"]
        row["speedup_vs_one_thread"] = single / row["wall_s"]
        startup = f"{row['startup_s']:.1f} s" if row["workers"] else "-"
        print(f"| {row['where']} | {row['workers'] or '-'} | {row['wall_s']:.1f} s | {startup} | "
              f"{row['runs_per_min']:.1f} | {row['speedup']:.2f}x | {row['speedup_vs_one_thread']:.2f}x |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"cores": cores, "epochs": args.epochs, "rows": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
