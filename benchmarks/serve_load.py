"""Concurrent clients against one encrypted-inference server on 127.0.0.1.

Trains and exports a small, cheap circuit, starts ``qatstudio serve`` on it in a child process, then
for 1, 4 and 16 concurrent clients (threads, each its own HTTP connection) sends encrypted test
points; prints p50/p99 round-trip latency (encrypt, send, run, receive, decrypt) and throughput, and
checks that every answer decrypts to the clear model's prediction.

    python benchmarks/serve_load.py [--workers 2] [--requests 32]

The machine is shared: run it twice before trusting a figure.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from qatstudio.engine.config import DataConfig, ExperimentConfig, ModelKind
from qatstudio.engine.data import make_dataset
from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.deploy.client import EncryptedClient
from qatstudio.services.datasets import TableStore
from qatstudio.services.deploy.export import export_bundle
from qatstudio.services.deploy.local import LocalServer


def level(url: str, keys_dir: Path, clients: int, requests: int, points: np.ndarray, clear: np.ndarray) -> dict:
    """``requests`` predictions spread over ``clients`` threads; latencies and wrong answers."""
    latencies: list[float] = []
    wrong: list[int] = []
    lock = threading.Lock()
    sessions = [EncryptedClient(url, keys_dir=keys_dir) for _ in range(clients)]
    for session in sessions:
        session.ensure_uploaded()  # the keys are uploaded once, before the clock starts

    def client(index: int) -> None:
        for request in range(index, requests, clients):
            row = request % len(points)
            start = time.perf_counter()
            label = sessions[index].predict_one(points[row]).label
            with lock:
                latencies.append(time.perf_counter() - start)
                if label != clear[row]:
                    wrong.append(row)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return {"clients": clients, "requests": len(latencies), "p50": float(np.percentile(latencies, 50)),
            "p99": float(np.percentile(latencies, 99)), "throughput": len(latencies) / elapsed, "wrong": len(wrong)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="server processes running the circuit")
    parser.add_argument("--requests", type=int, default=32, help="predictions per level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    config = ExperimentConfig(kind=ModelKind.QAT, n_hidden=8, bits=2, epochs=2,
                              data=DataConfig(n_points=1600, n_test=200))
    dataset = make_dataset(config.data)
    experiment = run_experiment(config, dataset, simulate=False)
    points = dataset.x_test[:16]
    clear = experiment.integer_model.predict(points)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "bundle"
        export_bundle(experiment, folder, TableStore(), "serve_load")  # a generated shape: no table's rows
        server = LocalServer(folder, extra_args=("--workers", str(args.workers)),
                             env={"QATSTUDIO_HOME": str(Path(scratch) / "home")}).start()
        try:
            report = experiment.stats
            print(f"circuit: {config.n_hidden} neurons x {config.n_layers} layers, {config.bits} bits, "
                  f"{report.pbs_count} PBS; server with {args.workers} worker(s) on 127.0.0.1")
            print(f"{'clients':>7s} {'requests':>8s} {'p50 s':>7s} {'p99 s':>7s} {'req/s':>7s} {'wrong':>5s}")
            for clients in args.levels:
                row = level(server.url, Path(scratch) / "keys", clients, args.requests, points, clear)
                print(f"{row['clients']:7d} {row['requests']:8d} {row['p50']:7.2f} {row['p99']:7.2f} "
                      f"{row['throughput']:7.2f} {row['wrong']:5d}", flush=True)
                assert row["wrong"] == 0, "an answer decrypted to something other than the clear prediction"
        finally:
            server.stop()


if __name__ == "__main__":
    main()
