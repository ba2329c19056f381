"""The optimizer (``qatstudio optimize``) on the guide's checkerboard and on scikit-learn's tables: one
search each, the winner compiled, given fresh keys and run encrypted; beside the references.

    .venv/bin/python benchmarks/optimize.py [--seeds 0 1 ...] [--tables iris wine ...] [--encrypted 4]
                                            [--workers 2] [--json FILE]

Board rows (data seed = model seed): the winner's test accuracy against the ceiling, its measured
steady-state latency (the median after the first, warm-up, sample) against the prediction, its keys
and the search's wall time; beside ``a2q-8bit-50n-budget8`` (benchmarks/fhe_speed.py) trained and
compiled on the same seed, its latency predicted by the same cost model. Table rows: the app's own
stratified split (test 20%), scikit-learn's LogisticRegression and MLPClassifier fitted on the same
training rows (validation included, min-max scaled) as the clear reference. Needs scikit-learn for
tables (pip install -e .[bench]). The machine's lookup times are measured first when missing.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qatstudio.services.datasets import TableStore  # noqa: E402

TABLES = TableStore()  # the rows of the tables this benchmark imports

REFERENCE = dict(n_hidden=50, pruning_budget=8, accumulator_bits=8)  # a2q-8bit-50n-budget8


def board_reference(seed: int, times) -> dict:
    """``a2q-8bit-50n-budget8`` on the same data seed: test accuracy and predicted latency."""
    from qatstudio.engine.config import DataConfig, ExperimentConfig
    from qatstudio.engine.pipeline import run_experiment

    config = ExperimentConfig(seed=seed, data=DataConfig(seed=seed), **REFERENCE)
    experiment = run_experiment(config, simulate=False)
    return dict(test_accuracy=experiment.metrics.clear_accuracy, pbs=experiment.stats.pbs_count,
                lookup_bits=experiment.stats.lookup_bits, key_bytes=experiment.stats.key_bytes,
                predicted_latency_s=times.circuit_latency_s(experiment.stats))


def search(data, workers: int, encrypted: int, seed: int = 0) -> dict:
    """One search on ``data``: the winner's figures and the search's."""
    from qatstudio.engine.config import ExperimentConfig
    from qatstudio.services.cluster import ClusterSettings
    from qatstudio.services.history import History
    from qatstudio.services.optimize import optimize

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = optimize(ExperimentConfig(seed=seed, data=data), TABLES, History(Path(folder)),
                          tell=lambda message: None, cluster=ClusterSettings(workers=workers),
                          encrypted_samples=encrypted)
        row = result.to_json()
    row["wall_s"] = time.perf_counter() - start
    return row


def sklearn_reference(data) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    import numpy as np

    dataset = TABLES.dataset_for(data)
    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    scores = {}
    for name, model in (("logistic", LogisticRegression(max_iter=5000)),
                        ("mlp", MLPClassifier(max_iter=2000, random_state=0))):
        scores[name] = float(make_pipeline(MinMaxScaler(), model).fit(x, y).score(dataset.x_test, dataset.y_test))
    return scores


def table_data(name: str, folder: Path):
    from tables import write_tables

    from qatstudio.services.tabular import read_table

    path, _, _ = write_tables([name], folder)[name]
    imported = read_table(path, "label")
    TABLES.remember(imported)
    return imported.data_config(test_fraction=0.2, seed=0)


def pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def secs(value) -> str:
    return "-" if value is None else (f"{1000 * value:.0f} ms" if value < 1 else f"{value:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--tables", nargs="*", default=[])
    parser.add_argument("--encrypted", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true", help="skip a2q-8bit-50n-budget8 on the board")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    from qatstudio.engine.config import DataConfig
    from qatstudio.services.calibration import lookup_times

    times = lookup_times(on_progress=lambda done, total: print(f"[calibrate] {done}/{total}", file=sys.stderr))
    rows = []
    print("| data | winner | validation | test | ceiling or scikit-learn | PBS (bits) | keys | predicted | "
          "measured (1st) | search | a2q-8bit-50n-budget8 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        row = search(DataConfig(seed=seed), args.workers, args.encrypted, seed)
        if not args.no_reference:
            row["reference"] = board_reference(seed, times)
        rows.append(dict(data=f"board seed {seed}", **row))
        print(_line(rows[-1]), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name in args.tables:
            data = table_data(name, Path(folder))
            row = search(data, args.workers, args.encrypted)
            row["sklearn"] = sklearn_reference(data)
            rows.append(dict(data=name, **row))
            print(_line(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


def _line(row: dict) -> str:
    w = row["winner"] or {}
    reference = row.get("reference")
    ref = (f"{pct(reference['test_accuracy'])}, {reference['pbs']} PBS, {secs(reference['predicted_latency_s'])} "
           f"predicted" if reference else "-")
    ceiling = pct(w.get("ceiling_accuracy")) if "sklearn" not in row else \
        f"{pct(row['sklearn']['logistic'])} / {pct(row['sklearn']['mlp'])}"
    return (f"| {row['data']} | {w.get('name', '-')} | {pct(w.get('validation_accuracy'))} | "
            f"{pct(w.get('test_accuracy'))} | {ceiling} | {w.get('pbs')} ({w.get('lookup_bits')}) | "
            f"{(w.get('key_bytes') or 0) / 1e6:.0f} MB | {secs(w.get('predicted_latency_s'))} | "
            f"{secs(w.get('measured_latency_s'))} ({secs(w.get('warmup_s'))}) | {row['search_s']:.0f} s | {ref} |")


if __name__ == "__main__":
    raise SystemExit(main())
