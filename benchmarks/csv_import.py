"""Importing a large CSV: time and peak memory of ``services.tabular.read_table``.

    python benchmarks/csv_import.py [--rows 1000000] [--features 20] [--repeat 3]

Writes a seeded file (``--features`` numeric columns with 6 significant digits, a 3-class text label)
into a temporary folder, then reads it in a fresh process per repeat, so that each peak is that of
the import alone (the process's peak resident memory, less what it held after its imports). The
issue's target: 1,000,000 rows of 20 features in under 10 s on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from qatstudio.services.tabular import read_table
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
updates = []
start = time.perf_counter()
imported = read_table(sys.argv[1], "label", on_progress=updates.append)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": (peak - before) / 1024, "rows": len(imported.table.labels),
                  "features": len(imported.table.feature_names), "classes": len(imported.table.class_names),
                  "progress_updates": len(updates)}))
"""


def write_csv(path: Path, rows: int, features: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    columns = {f"f{i + 1}": np.round(rng.normal(0.0, 1.0, rows), 5) for i in range(features)}
    columns["label"] = np.array(["setosa", "versicolor", "virginica"])[rng.integers(0, 3, rows)]
    pacsv.write_csv(pa.table(columns), path, pacsv.WriteOptions(quoting_style="none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.csv"
        start = time.perf_counter()
        write_csv(path, args.rows, args.features)
        size = path.stat().st_size
        print(f"wrote {args.rows:,} rows x {args.features} features + label: {size / 1e6:.0f} MB "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        results = []
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = results[-1]
            print(f"read_table: {r['seconds']:.2f} s ({size / 1e6 / r['seconds']:.0f} MB/s), peak memory "
                  f"+{r['peak_mb']:.0f} MB, {r['rows']:,} rows, {r['features']} features, {r['classes']} classes, "
                  f"{r['progress_updates']} progress updates", flush=True)
        best = min(r["seconds"] for r in results)
        print(f"best of {len(results)}: {best:.2f} s; peak memory {max(r['peak_mb'] for r in results):.0f} MB "
              f"for a {size / 1e6:.0f} MB file")


if __name__ == "__main__":
    main()
