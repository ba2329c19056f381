"""How well the window keeps up while it trains.

Prints
  (a) the longest stall of the GUI event loop during training, measured with a timer heartbeat
      (target: under 50 ms), and
  (b) the training loop's time with the window open (live plots) versus the bare core ``train``
      on the same configuration (target: at most 10% slower).

Runs are interleaved (bare, window, bare, window, ...) so that a busy machine slows both alike;
the median of each is compared.

The data: a generated shape (``--shape``, ``--points``, ``--test-points``: e.g. a 100,000-point set
whose boundary plot draws a sample of 20,000 test points), or a table of ``--table-features``
features made here as a CSV file and imported through the window's File > Import data, whose
stall is measured too.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--repeats 3]
    ... benchmarks/gui_responsiveness.py --shape moons --points 100000 --test-points 20000
    ... benchmarks/gui_responsiveness.py --table-features 20 --table-rows 20000
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEARTBEAT_MS = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="qat")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--bits", type=int, default=3)
    parser.add_argument("--budget", type=int, default=20, help="pruning budget (0: off)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (bare and window)")
    parser.add_argument("--shape", default="checkerboard", help="a generated shape (engine.config.SHAPES)")
    parser.add_argument("--points", type=int, default=10_000, help="points of the generated shape")
    parser.add_argument("--test-points", type=int, default=500, help="its test points")
    parser.add_argument("--table-features", type=int, default=0,
                        help="train on a table of this many features instead (imported through the window)")
    parser.add_argument("--table-rows", type=int, default=20_000)
    return parser.parse_args()


def write_table(path: Path, rows: int, features: int) -> None:
    """A seeded CSV: ``features`` numeric columns and a 'label' of three classes that two of them decide."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features))
    labels = np.digitize(x[:, 0] + 0.7 * x[:, 1], [-0.6, 0.6])
    header = ",".join([f"f{i}" for i in range(features)] + ["label"])
    np.savetxt(path, np.column_stack([x, labels]), delimiter=",", header=header, comments="",
               fmt=["%.5f"] * features + ["%d"])


class Heartbeat:
    """A timer every HEARTBEAT_MS on the GUI thread: the gaps beyond it are event-loop stalls."""

    def __init__(self):
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.gaps: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        self.gaps.append(self.clock.nsecsElapsed() / 1e6)
        self.clock.restart()

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def stop(self) -> tuple[float, float]:
        """The longest stall and the 99th percentile (ms); the first gap (the start) not counted."""
        self.timer.stop()
        steady = self.gaps[1:] if len(self.gaps) > 1 else self.gaps
        stall = max(steady) - HEARTBEAT_MS if steady else float("nan")
        p99 = statistics.quantiles(steady, n=100)[98] - HEARTBEAT_MS if len(steady) >= 100 else float("nan")
        return stall, p99


def main() -> int:
    args = parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="qatstudio-bench-")
    os.environ["QATSTUDIO_HOME"] = home  # no touching the user's files

    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    import qatstudio.gui  # noqa: F401  (guards PySide6 6.12's None refcount leak first)
    from qatstudio.engine.config import DataConfig, ExperimentConfig
    from qatstudio.engine.training import train
    from qatstudio.gui.app import configure_runtime
    from qatstudio.gui.window.main_window import MainWindow
    from qatstudio.services.datasets import dataset_for
    from qatstudio.services.formatting import data_name

    threads = configure_runtime()  # as run_app does: the figures are the app's, for both runs

    app = QApplication.instance() or QApplication([])
    window = MainWindow(QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    app.processEvents()

    def finish(trigger) -> str:
        """Fire ``trigger`` and wait for the task it starts; its outcome."""
        loop = QEventLoop()
        outcome = []

        def done(name: str, result: str) -> None:
            outcome.append(result)
            loop.quit()

        window.taskFinished.connect(done)
        trigger()
        loop.exec()
        window.taskFinished.disconnect(done)
        return outcome[0]

    if args.table_features:
        csv = Path(home) / f"table-{args.table_features}.csv"
        write_table(csv, args.table_rows, args.table_features)
        print(f"importing a {args.table_rows:,}-row, {args.table_features}-feature CSV through the window...",
              flush=True)
        window.files.import_file(csv)
        dialog = window.files.import_settings
        dialog.label.setCurrentText("label")
        heartbeat = Heartbeat()
        heartbeat.start()
        started = time.perf_counter()
        outcome = finish(dialog.accept)
        stall, p99 = heartbeat.stop()
        assert outcome == "succeeded", window.status_text()
        print(f"  import: {time.perf_counter() - started:.2f} s, longest GUI stall {stall:.1f} ms, "
              f"p99 {p99:.1f} ms", flush=True)
        data = window.config_panel.config().data
    else:
        data = DataConfig.for_shape(args.shape, n_points=args.points, n_test=args.test_points)
    config = ExperimentConfig(kind=args.kind, n_hidden=args.neurons, bits=args.bits,
                              pruning_budget=args.budget or None, epochs=args.epochs, data=data)
    config.validate()
    dataset = dataset_for(config.data)
    window.config_panel.set_config(config)

    def bare_run(on_main_thread: bool = False) -> float:
        """The bare core loop, on a plain Python thread like the window's worker: on this machine
        torch runs intra-op work very differently on the main thread (OpenMP), which would make
        the comparison about threads rather than about the window."""
        if on_main_thread:
            return train(config, dataset).elapsed_s
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("s", train(config, dataset).elapsed_s))
        thread.start()
        thread.join()
        return result["s"]

    gui_share: list[float] = []

    def window_run(heartbeat_on: bool) -> tuple[float, float, tuple[float, float], int]:
        heartbeat = Heartbeat()
        redraws_before = window.plots.redraws
        gui_cpu = time.thread_time()
        wall = time.perf_counter()
        if heartbeat_on:
            heartbeat.start()
        outcome = finish(window.train_button.click)
        stalls = heartbeat.stop()
        wall = time.perf_counter() - wall
        gui_cpu = time.thread_time() - gui_cpu
        gui_share.append(gui_cpu / wall)
        experiment = window.session.experiment
        assert outcome == "succeeded" and experiment is not None and not experiment.cancelled, window.status_text()
        loop_s = experiment.history[-1].elapsed_s  # the training loop alone, as the core times it
        return loop_s, wall, stalls, window.plots.redraws - redraws_before

    print("warming up (one short run of each, not counted)...", flush=True)
    warm = config.replace(epochs=1)
    train(warm, dataset)
    window.config_panel.set_config(warm)
    window_run(heartbeat_on=True)
    window.config_panel.set_config(config)

    print(f"data: {data_name(config.data)}: {len(dataset.y_train):,} training and {len(dataset.y_test):,} test "
          f"points, {dataset.n_features} features, {dataset.n_classes} classes")
    print(f"configuration: {config.kind}, {config.n_layers}x{config.n_hidden} neurons, {config.bits} bits, "
          f"budget {config.pruning_budget}, {config.epochs} epochs, batch {config.batch_size}; "
          f"torch intra-op threads {threads} (as the app sets them); "
          f"{args.repeats} runs each, interleaved", flush=True)
    bare, windowed, stalls, p99s, rates = [], [], [], [], []
    # (b) without the heartbeat: 200 timer wake-ups a second compete for the GIL themselves.
    for repeat in range(args.repeats):
        b = bare_run()
        loop_s, wall, _, redraws = window_run(heartbeat_on=False)
        bare.append(b)
        windowed.append(loop_s)
        rates.append(redraws / wall)
        print(f"  timing run {repeat + 1}: bare core {b:.2f} s | window {loop_s:.2f} s (job {wall:.2f} s, "
              f"{redraws / wall:.1f} redraws/s, GUI thread {100 * gui_share[-1]:.0f}% of a core)", flush=True)
    # (a) with a heartbeat timer every HEARTBEAT_MS: the gaps beyond it are event-loop stalls.
    for repeat in range(args.repeats):
        _, _, (stall, p99), _ = window_run(heartbeat_on=True)
        stalls.append(stall)
        p99s.append(p99)
        print(f"  heartbeat run {repeat + 1}: longest stall {stall:.1f} ms, p99 {p99:.1f} ms", flush=True)

    main_thread = bare_run(on_main_thread=True)
    window.close()
    app.processEvents()
    bare_median, window_median = statistics.median(bare), statistics.median(windowed)
    slowdown = 100 * (window_median / bare_median - 1)
    print()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (other work on the machine skews both figures)")
    print(f"(a) longest GUI event-loop stall during training: {max(stalls):.1f} ms "
          f"(worst run; p99 {max(p99s):.1f} ms; target < 50 ms) -> {'OK' if max(stalls) < 50 else 'MISSED'}")
    print(f"(b) training loop: window open {window_median:.2f} s vs bare core {bare_median:.2f} s "
          f"(medians): {slowdown:+.1f}% (target <= +10%) -> {'OK' if slowdown <= 10 else 'MISSED'}")
    print(f"    for reference, the bare core loop on the main thread: {main_thread:.2f} s (one run)")
    print(f"    plots redrawn at {statistics.median(rates):.1f} redraws/s (limit 15); the GUI thread used "
          f"{100 * statistics.median(gui_share[1:args.repeats + 1]):.0f}% of a core while training")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
