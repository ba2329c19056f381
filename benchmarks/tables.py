"""The default recipe on scikit-learn's bundled tables (iris, wine, breast cancer, digits) and scikit-learn's split,
beside scikit-learn's clear models and Concrete ML 1.9's figures (measured elsewhere).

    pip install -e .[bench]        # scikit-learn
    .venv/bin/python benchmarks/tables.py [--tables iris wine ...] [--random-states 0 1 2] [--encrypted 2]
                                          [--set epochs=2 ...] [--out DIR] [--json FILE] [--reference-only]

Each table is written to DIR/<name>.csv (header, a ``label`` column holding the class names) and read
back by the app's own CSV reader, as ``qatstudio train --data <name>.csv`` would. The split is
``train_test_split(test_size=0.2, stratify=y, random_state=R)``, handed to the engine as its test rows.
scikit-learn's LogisticRegression and MLPClassifier are fitted on min-max scaled training rows. The
app runs ``ExperimentConfig(data=...)`` with every model setting at its default (``--set key=value``
overrides one; the model seed stays the same across random states); keys are generated fresh and
samples run encrypted only when the keys are under 2 GB: the first sample is reported apart (warm-up),
then the median of the rest.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TABLES = ("iris", "wine", "breast_cancer", "digits")
MAX_KEY_GB = 2.0  # larger keys: no encrypted run
TEST_SIZE = 0.2

# Concrete ML 1.9 on the same split (random_state 0), measured elsewhere and not re-measured here.
# "bits" is its circuit's widest integer; latencies are per encrypted sample.
CONCRETE_ML = {
    "Concrete ML NN defaults": {
        "test_accuracy": dict(iris=0.933, wine=0.972, breast_cancer=0.965, digits=0.975),
        "accumulator_bits": dict(iris=9, wine=10, breast_cancer=10, digits=11),
        "pbs_count": dict(iris=160, wine=572, breast_cancer=1320, digits=2304),
        "key_gb": dict(iris=0.47, wine=0.47, breast_cancer=1.1, digits=2.4),
        "latency_s": dict(iris=2.5, wine=6.0, breast_cancer=16.8, digits=92.1),
    },
    "Concrete ML NN 3-bit, 8-bit accumulator": {
        "test_accuracy": dict(iris=0.833, wine=0.417, breast_cancer=0.930, digits=0.700),
    },
    "Concrete ML LogisticRegression": {
        "test_accuracy": dict(iris=0.900, wine=1.0, breast_cancer=0.947, digits=0.967),
        "latency_s": dict(iris=0.003, wine=0.005, breast_cancer=0.009, digits=0.036),
    },
}
CONCRETE_ML_STATE = 0

COLUMNS = [  # (title, row key, format)
    ("validation", "validation_accuracy", "pct"), ("test (clear)", "test_accuracy", "pct"),
    ("test (FHE sim.)", "fhe_simulated_accuracy", "pct"), ("acc. bits", "accumulator_bits", "int"),
    ("lookup bits", "lookup_bits", "int"), ("PBS", "pbs_count", "int"), ("keys", "key_gb", "gb"),
    ("compile", "compile_s", "s"), ("keygen", "keygen_s", "s"), ("1st sample", "warmup_s", "s"),
    ("per sample", "latency_s", "s"),
]


def write_tables(names: list[str], folder: Path) -> dict:
    """Each table to ``folder/<name>.csv``; its scikit-learn features and classes by name."""
    from sklearn import datasets

    written = {}
    for name in names:
        bunch = getattr(datasets, f"load_{name}")()
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([*bunch.feature_names, "label"])
            for row, target in zip(bunch.data, bunch.target):
                writer.writerow([repr(float(v)) for v in row] + [str(bunch.target_names[target])])
        written[name] = (path, bunch.data, bunch.target)
    return written


def read_back(path: Path, x, y):
    """The file through the app's reader, checked to hold scikit-learn's rows in the same order."""
    import numpy as np

    from qatstudio.services.tabular import peek_columns, read_table, suggest_label

    imported = read_table(path, suggest_label(peek_columns(path)))
    table = imported.table
    if imported.label_column != "label" or not np.array_equal(table.features, x):
        raise RuntimeError(f"{path.name} read back differs from scikit-learn's rows")
    if any(len(np.unique(table.labels[y == k])) != 1 for k in np.unique(y)):
        raise RuntimeError(f"{path.name} read back has other classes than scikit-learn's")
    return imported


def sklearn_rows(x, y, train, test) -> dict:
    """Test accuracy of scikit-learn's clear references, min-max scaled from the training rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    models = {"scikit-learn LogisticRegression": LogisticRegression(max_iter=5000),
              "scikit-learn MLPClassifier": MLPClassifier(max_iter=2000, random_state=0)}
    rows = {}
    for name, model in models.items():
        start = time.perf_counter()
        pipeline = make_pipeline(MinMaxScaler(), model).fit(x[train], y[train])
        rows[name] = dict(test_accuracy=float(pipeline.score(x[test], y[test])), fit_s=time.perf_counter() - start)
    return rows


def app_row(imported, test, random_state: int, overrides: dict, encrypted: int) -> dict:
    """The default recipe on the given test rows: accuracies, circuit, and (small keys) encrypted timings."""
    import numpy as np

    from qatstudio.engine.config import ExperimentConfig
    from qatstudio.engine.data import split_table
    from qatstudio.engine.pipeline import run_experiment

    data_config = imported.data_config(test_fraction=TEST_SIZE, seed=random_state)
    dataset = split_table(imported.table, data_config, test_index=test)
    config = ExperimentConfig.default_recipe(data=data_config).replace(**overrides)
    experiment = run_experiment(config, dataset, compile=True, simulate=True, encrypted_samples=0)
    metrics, stats, compiled = experiment.metrics, experiment.stats, experiment.compiled
    row = dict(config={k: v for k, v in config.to_dict().items() if k != "data"},
               validation_accuracy=metrics.validation_accuracy, test_accuracy=metrics.clear_accuracy,
               fhe_simulated_accuracy=metrics.fhe_simulated_accuracy,
               agreement_clear_simulated=metrics.agreement_clear_simulated,
               accumulator_bits=stats.accumulator_bits, lookup_bits=stats.lookup_bits,
               pbs_count=stats.pbs_count, key_gb=stats.key_bytes / 1e9, compile_s=stats.compile_s,
               train_s=experiment.train_s)
    if encrypted > 0 and row["key_gb"] >= MAX_KEY_GB:
        print(f"[tables]   keys {row['key_gb']:.2f} GB: not run encrypted", file=sys.stderr, flush=True)
    elif encrypted > 0:
        print(f"[tables]   keys and {encrypted} encrypted samples ...", file=sys.stderr, flush=True)
        row["keygen_s"] = compiled.keygen().seconds
        x = dataset.x_test[:encrypted]
        run = compiled.run_encrypted(experiment.integer_model.quantize_inputs(x))
        executed = compiled.model.dequantize_outputs(run.outputs).argmax(axis=1)
        row.update(warmup_s=run.latencies_s[0],
                   latency_s=statistics.median(run.latencies_s[1:]) if len(run.latencies_s) > 1 else None,
                   encrypted_latencies_s=run.latencies_s,
                   agreement_clear_executed=float(np.mean(executed == experiment.integer_model.predict(x))))
    return row


def concrete_ml_rows(table: str) -> dict:
    return {name: {key: values[table] for key, values in figures.items()} for name, figures in CONCRETE_ML.items()}


def fmt(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "gb":
        return f"{value:.2f} GB"
    if kind == "s":
        return f"{1000 * value:.0f} ms" if value < 1 else f"{value:.1f} s"
    return f"{value:,}"


def spread(values: list, kind: str) -> str:
    """One value as it is; several as 'mean (min-max)' (accuracies) or 'min-max' (the rest)."""
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    low, high = min(known), max(known)
    if low == high:
        return fmt(low, kind)
    if kind == "pct":
        return f"{fmt(statistics.mean(known), kind)} ({100 * low:.1f}-{fmt(high, kind)})"
    return f"{fmt(low, kind)}-{fmt(high, kind)}"


def markdown(rows: list[dict], cell) -> str:
    lines = ["| table | model | " + " | ".join(title for title, _, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append(f"| {row['table']} | {row['model']} | "
                     + " | ".join(cell(row, key, kind) for _, key, kind in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    parser.add_argument("--random-states", nargs="+", type=int, default=[0], help="split seeds (0 1 2: the spread)")
    parser.add_argument("--encrypted", type=int, default=2, help="samples run encrypted (keys under 2 GB); 0: none")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one model setting, the value as JSON (e.g. epochs=2, pruning_budget=null)")
    parser.add_argument("--out", help="folder for the CSV files (default: a temporary folder)")
    parser.add_argument("--json", help="write every row here")
    parser.add_argument("--reference-only", action="store_true", help="scikit-learn only (no training, no FHE)")
    args = parser.parse_args()
    os.environ.setdefault("QATSTUDIO_HOME", tempfile.mkdtemp(prefix="qatstudio-bench-"))

    from qatstudio.engine.config import ExperimentConfig

    settings = {field.name for field in dataclasses.fields(ExperimentConfig)} - {"data"}
    overrides = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or key not in settings:
            parser.error(f"--set {item}: expected KEY=VALUE with KEY one of {', '.join(sorted(settings))}")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text

    import numpy as np
    from sklearn.model_selection import train_test_split

    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="qatstudio-tables-"))
    folder.mkdir(parents=True, exist_ok=True)
    written = write_tables(args.tables, folder)
    print(f"[tables] CSV files in {folder}", file=sys.stderr)
    app_name = "QAT Studio defaults" + (f" ({', '.join(args.set)})" if args.set else "")
    imported = {name: read_back(path, x, y) for name, (path, x, y) in written.items()}
    rows = []
    for state in args.random_states:
        state_rows = []
        for name, (_, x, y) in written.items():
            train, test = train_test_split(np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=state)
            common = dict(table=name, random_state=state, n_train=len(train), n_test=len(test))
            found = sklearn_rows(x, y, train, test)
            if not args.reference_only:
                print(f"[tables] {name}, random state {state}: training and compiling ...", file=sys.stderr, flush=True)
                found[app_name] = app_row(imported[name], test, state, overrides, args.encrypted)
            if state == CONCRETE_ML_STATE:
                found.update({f"{model} *": figures for model, figures in concrete_ml_rows(name).items()})
            state_rows += [dict(common, model=model, **figures) for model, figures in found.items()]
        rows += state_rows
        print(f"\n### random state {state}\n")
        print(markdown(state_rows, lambda row, key, kind: fmt(row.get(key), kind)))
    print("\n### summary over random states " + ", ".join(map(str, args.random_states))
          + ": mean (min-max) of accuracies, min-max of the rest\n")
    groups: dict = {}
    for row in rows:
        groups.setdefault((row["table"], row["model"]), []).append(row)
    print(markdown([dict(table=t, model=m, runs=runs) for (t, m), runs in groups.items()],
                   lambda row, key, kind: spread([run.get(key) for run in row["runs"]], kind)))
    print(f"\n\\* Concrete ML 1.9, random state {CONCRETE_ML_STATE}: measured elsewhere, not re-measured here.")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
        print(f"[tables] wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
