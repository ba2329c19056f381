"""The command line: `qatstudio [FILE.qats]` opens the window; subcommands run the same core without Qt."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Optional

from . import __version__


def _add_bounded(parser, flag: str, setting: str, default, help: str) -> None:
    """An option for a whole-number setting: its limits and its word for "none" from the setting's bound."""
    from .engine.config import BOUNDS

    bound = BOUNDS[setting]

    def read(text: str):
        try:
            return bound.read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    limits = f"{bound.low:,}..{bound.high:,}" + (f", or {bound.off}" if bound.off else "")
    parser.add_argument(flag, type=read, default=default, metavar=f"N|{bound.off}" if bound.off else "N",
                        help=f"{help} ({limits})")


def _add_kind(parser, default, budget_option: str) -> None:
    """The --kind option: a ModelKind's word. The retired kind 'pruned' is refused with what to type
    instead (pruning is ``budget_option``)."""
    from .engine.config import RETIRED_PRUNED_KIND, ModelKind

    def read(text: str):
        if text == RETIRED_PRUNED_KIND:
            raise argparse.ArgumentTypeError(
                f"'{text}' is no longer a kind: a pruned model is --kind {ModelKind.FLOAT.value} with "
                f"{budget_option} N (non-zero inputs per neuron)")
        try:
            return ModelKind.read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    words = [kind.value for kind in ModelKind]
    parser.add_argument("--kind", type=read, default=default, metavar="{" + ",".join(words) + "}",
                        help=f"{ModelKind.FLOAT.value}: trained in fp32, quantized after training; "
                             f"{ModelKind.QAT.value}: quantization-aware training (default "
                             f"{default.value}); either is pruned with {budget_option}")


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    from .engine.config import ExperimentConfig

    defaults = ExperimentConfig.default_recipe()
    _add_kind(parser, defaults.kind, "--budget")
    _add_bounded(parser, "--neurons", "n_hidden", defaults.n_hidden, "hidden neurons per layer")
    _add_bounded(parser, "--layers", "n_layers", defaults.n_layers, "hidden layers; 0: a linear model")
    _add_bounded(parser, "--bits", "bits", defaults.bits, "weight and activation bit-width")
    _add_bounded(parser, "--budget", "pruning_budget", RECIPE,
                 f"pruning budget: non-zero inputs per neuron (default {defaults.pruning_budget}, off for --kind "
                 f"float; off: dense)")
    _add_bounded(parser, "--epochs", "epochs", defaults.epochs,
                 "default: from the data's size (about 3,000 optimizer steps), stopped early")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    _add_bounded(parser, "--batch-size", "batch_size", defaults.batch_size, "default: from the data's size")
    parser.add_argument("--optimizer", default=defaults.optimizer)
    _add_bounded(parser, "--seed", "seed", defaults.seed, "seeds the weights and the batch order")
    _add_bounded(parser, "--restarts", "restarts", defaults.restarts,
                 f"models trained from different seeds, the best on validation kept (default {defaults.restarts})")
    _add_data_arguments(parser)
    fast = parser.add_argument_group("cheaper FHE")
    _add_bounded(fast, "--accumulator-bits", "accumulator_bits", None,
                 "QAT: target accumulator width, guaranteed by A2Q+ weights")
    _add_bounded(fast, "--keep-neurons", "neurons_kept", None, "structured pruning: neurons kept per layer")
    _add_bounded(fast, "--round-bits", "round_bits", 0, "low accumulator bits rounded away before lookups")
    _add_bounded(fast, "--lookup-bits", "lookup_bits", defaults.lookup_bits,
                 f"the widest lookup: wider accumulators are rounded down to it after training (default "
                 f"{defaults.lookup_bits}; unbounded: as wide as the accumulators)")
    rounding = fast.add_mutually_exclusive_group()
    rounding.add_argument("--approximate", dest="rounding", action="store_const", const="approximate",
                          default=defaults.rounding,
                          help="approximate rounding before lookups (one lookup each; FHE may disagree with "
                               "the clear model on a few points)" + (" (default)" if defaults.rounding ==
                                                                      "approximate" else ""))
    rounding.add_argument("--exact", dest="rounding", action="store_const", const="exact",
                          help="exact rounding (bit for bit the clear model; a lookup per rounded bit more)"
                               + (" (default)" if defaults.rounding == "exact" else ""))
    fast.add_argument("--p-error", type=float, default=None, help="error probability per lookup")


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    from .engine.config import SHAPES, DataConfig

    defaults = DataConfig()
    data = parser.add_argument_group("data (a generated shape, or your own CSV file)")
    source = data.add_mutually_exclusive_group()
    source.add_argument("--shape", choices=SHAPES, default=defaults.shape, help="a generated 2D data set")
    source.add_argument("--data", metavar="FILE.csv", type=Path,
                        help="your own data: numeric feature columns and one label column (UTF-8 CSV)")
    data.add_argument("--label", metavar="COLUMN",
                      help="the CSV's label column (default: one named label, class, target or y, else the last)")
    data.add_argument("--test-fraction", type=float, default=defaults.test_fraction, metavar="F",
                      help="CSV: share of each class held out for testing")
    data.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction, metavar="F",
                      help="share of each class of the training points held out for validation, which "
                           "chooses the kept model")
    data.add_argument("--drop-missing", action="store_true", help="CSV: leave out rows with missing values")
    _add_bounded(data, "--points", "data.n_points", defaults.n_points, "generated points")
    data.add_argument("--noise", type=float, default=None,
                      help="std of the generated points' jitter (default: the shape's suggested jitter)")
    _add_bounded(data, "--bands", "data.bands", defaults.bands,
                 "checkerboard bands per axis (the guide's CLUSTERS = 3 is 4 bands)")
    _add_bounded(data, "--data-seed", "data.seed", defaults.seed, "seed of the jitter and the split")


def _add_cluster_arguments(parser: argparse.ArgumentParser, default_workers: str) -> None:
    """Where runs go: an existing Dask cluster, or worker processes on this computer."""
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786",
                        help="run on this existing Dask cluster (default: worker processes on this computer)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"worker processes on this computer (default: {default_workers})")


def _data_from(args, tables):
    """The DataConfig the arguments name; a CSV file is read here and its rows kept in ``tables``
    (the command's ``TableStore``)."""
    from .engine.config import ConfigError, DataConfig
    from .services.formatting import fmt_seconds
    from .services.tabular import peek_columns, read_table, suggest_label

    if args.data is None:
        if args.label is not None or args.drop_missing:
            raise ConfigError(["--label and --drop-missing go with --data FILE.csv"])
        jitter = {} if args.noise is None else {"noise": args.noise}
        return DataConfig.for_shape(args.shape, n_points=args.points, bands=args.bands, seed=args.data_seed,
                                    validation_fraction=args.validation_fraction, **jitter)
    label = args.label
    if label is None:
        label = suggest_label(peek_columns(args.data))
        print(f"label column: {label} (choose another with --label)", file=sys.stderr)
    start = time.perf_counter()
    imported = read_table(args.data, label, drop_missing=args.drop_missing)
    tables.remember(imported)
    table = imported.table
    dropped = f", {imported.rows_dropped:,} with missing values left out" if imported.rows_dropped else ""
    print(f"read {imported.name}: {len(table.labels):,} rows{dropped}, {len(table.feature_names)} features, "
          f"classes {', '.join(table.class_names)} ({fmt_seconds(time.perf_counter() - start)})", file=sys.stderr)
    return dataclasses.replace(imported.data_config(test_fraction=args.test_fraction, seed=args.data_seed),
                               validation_fraction=args.validation_fraction)


def _config_from(args, tables):
    from .engine.config import ExperimentConfig

    budget = {} if args.budget is RECIPE else {"pruning_budget": args.budget}
    return ExperimentConfig.default_recipe(
        kind=args.kind, n_hidden=args.neurons, n_layers=args.layers, bits=args.bits, **budget,
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, optimizer=args.optimizer, seed=args.seed,
        restarts=args.restarts, accumulator_bits=args.accumulator_bits, neurons_kept=args.keep_neurons,
        round_bits=args.round_bits, lookup_bits=args.lookup_bits, rounding=args.rounding, p_error=args.p_error,
        data=_data_from(args, tables),
    )


def _fail(message: str) -> int:
    print(f"qatstudio: {message}", file=sys.stderr)
    return 2


def cmd_reproduce(args) -> int:
    from .services.reproduce import ReproducePlan, format_tables, reproduce, stderr_progress
    from .services.storage import atomic_write_json

    plan = ReproducePlan.fast() if args.fast else ReproducePlan.full()
    if args.seeds:
        plan.seeds = args.seeds
    start = time.perf_counter()
    tables = reproduce(plan, stderr_progress())
    tables["elapsed_s"] = time.perf_counter() - start
    print(format_tables(tables))
    print(f"(measured in {tables['elapsed_s']:.0f} s)")
    if args.json:
        atomic_write_json(Path(args.json), tables, mode=0o644)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    from .engine.evaluate import evaluate_encrypted
    from .engine.pipeline import run_experiment
    from .engine.training import Epoch
    from .services.datasets import TableStore
    from .services.experiment_file import save_experiment
    from .services.formatting import data_name, fmt_epochs, fmt_key_bytes, fmt_latency, fmt_percent, fmt_restart, plural
    from .services.results import result_row
    from .services.storage import atomic_write_json

    tables = TableStore()
    config = _config_from(args, tables)
    config.validate()
    dataset = tables.dataset_for(config.data)
    print(f"data: {data_name(config.data)}; {len(dataset.y_train):,} training, {len(dataset.y_val):,} validation "
          f"and {len(dataset.y_test):,} test points; {fmt_epochs(config)}, {plural(config.restarts, 'restart')}",
          file=sys.stderr)

    def show(event):
        if isinstance(event, Epoch):
            print(f"{fmt_restart(event.restart, event.restarts)}epoch {event.epoch}/{event.epochs}: train loss "
                  f"{event.train_loss:.4f}, validation {fmt_percent(event.validation_accuracy)}, test "
                  f"{fmt_percent(event.test_accuracy)} ({event.elapsed_s:.1f} s)", file=sys.stderr, flush=True)

    experiment = run_experiment(config, dataset, on_event=show)
    m, report = experiment.metrics, experiment.stats
    kept = experiment.kept_record
    print(f"kept: epoch {kept.epoch}" + (f" of restart {experiment.kept_restart + 1}" if config.restarts > 1 else "")
          + (" (stopped early: validation stopped improving)" if experiment.stopped_early else ""))
    if m.ceiling_accuracy is not None:
        print(f"ceiling (best possible): {fmt_percent(m.ceiling_accuracy)}")
    print(f"validation (chose it):   {fmt_percent(m.validation_accuracy)}")
    print(f"float accuracy:          {fmt_percent(m.float_accuracy)}")
    print(f"brevitas accuracy:       {fmt_percent(m.brevitas_accuracy)}")
    print(f"clear quantized:         {fmt_percent(m.clear_accuracy)}")
    print("per class (clear):       " + ", ".join(f"{name} {fmt_percent(value)}"
                                                  for name, value in zip(dataset.class_names, m.class_accuracy)))
    print(f"FHE simulated:           {fmt_percent(m.fhe_simulated_accuracy)} "
          f"(agreement with clear {fmt_percent(m.agreement_clear_simulated)})")
    print(f"accumulator:             {report.accumulator_bits} bits "
          f"(per layer {[layer.accumulator_bits for layer in report.layers]}, "
          f"worst case {[layer.bound_bits for layer in report.layers]}); widest lookup {report.lookup_bits} bits")
    print(f"lookups (PBS):           {report.pbs_count} {dict(report.pbs_by_precision)} by precision")
    print(f"keys:                    {fmt_key_bytes(report.key_bytes, compressed=False)}, "
          f"compile {report.compile_s:.2f} s, "
          f"global error probability {report.global_p_error:.2g}", flush=True)
    if args.encrypted:
        keys = _make_keys(experiment.compiled, config, args.yes)
        if keys is None:
            return 2
        evaluate_encrypted(m, dataset, experiment.compiled, args.encrypted, keys, on_sample=_show_sample)
        if m.fhe_executed_samples:
            print(f"FHE executed ({m.fhe_executed_samples} pts):   {fmt_percent(m.fhe_executed_accuracy)} "
                  f"(agreement with clear {fmt_percent(m.agreement_clear_executed)})")
            print(f"latency per sample:      {fmt_latency(m)}, keys {m.keygen_s:.1f} s"
                  f"{' (cached)' if m.keygen_from_cache else ''}")
    if args.save:
        save_experiment(Path(args.save), experiment, tables)
        print(f"saved {args.save}", file=sys.stderr)
    if args.json:
        atomic_write_json(Path(args.json), result_row(experiment), mode=0o644)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _show_sample(done: int, total: int, seconds: float) -> None:
    print(f"encrypted sample {done}/{total}: {seconds:.2f} s", file=sys.stderr, flush=True)


def _make_keys(compiled, config, yes: bool):
    """The circuit's keys, from the cache or made with progress; None when their predicted cost
    needs a --yes that was not given (the reason and what is cheaper are printed)."""
    from .services.key_budget import (
        cheaper_settings,
        describe_key_cost,
        key_cost_problems,
        keygen_progress,
        keys_to_make,
    )
    from .services.keys import KeyCache

    cache = KeyCache()
    cost = keys_to_make(compiled, cache)
    if cost is not None:
        problems = key_cost_problems(cost, cache.folder)
        print(f"key generation: {describe_key_cost(cost)}", file=sys.stderr, flush=True)
        if problems and not yes:
            print(f"qatstudio: not making the keys: {'; '.join(problems)}. Add --yes to make them anyway, or make "
                  f"them cheaper: {cheaper_settings(config)}.", file=sys.stderr)
            return None
    start = time.monotonic()
    last = [start]

    def tick() -> bool:
        now = time.monotonic()
        if cost is not None and now - last[0] >= 5:
            last[0] = now
            print(f"generating keys: {keygen_progress(cost, now - start)}", file=sys.stderr, flush=True)
        return False

    return cache.keys_for_cancellable(compiled, tick)


RECIPE = object()  # an option left at the default recipe's value


def cmd_sweep(args) -> int:
    from .engine.config import ExperimentConfig
    from .services.cluster import ClusterReady, ClusterSettings
    from .services.datasets import TableStore
    from .services.formatting import CIRCUIT_BY_KEY, fmt_measure, fmt_percent, fmt_seconds
    from .services.history import History
    from .services.report import write_html_report, write_json_report
    from .engine.config import ConfigError
    from .services.ranges import SweepRanges
    from .services.sweep import RunDone, RunFailed, RunRedone, SweepProgress, parse_plan, run_sweep

    tables = TableStore()
    base = ExperimentConfig(kind=args.kind, epochs=args.epochs, data=_data_from(args, tables))
    plan, problems = parse_plan(base, SweepRanges(" ".join(args.neurons), " ".join(args.bits),
                                                  " ".join(args.budgets), " ".join(args.seeds)), tables)
    if problems:
        raise ConfigError(problems)
    cluster = ClusterSettings(scheduler=args.scheduler or "", workers=args.workers)
    history = History()

    def show(message):
        if isinstance(message, ClusterReady):
            dashboard = message.dashboard_url or message.dashboard_note
            print(f"[sweep] on {message.where} ({message.workers} connected); dashboard: {dashboard}",
                  file=sys.stderr, flush=True)
        elif isinstance(message, SweepProgress):
            eta = f", about {fmt_seconds(message.eta_s)} left" if message.eta_s is not None else ""
            print(f"[sweep] {message.done} done, {message.failed} failed, {message.running} running, "
                  f"{message.queued} queued of {message.total}{eta}", file=sys.stderr, flush=True)
        elif isinstance(message, RunDone):
            record = message.record
            print(f"{record.label:45s} accuracy {fmt_percent(record.accuracy):>7s}  accumulator "
                  f"{fmt_measure(CIRCUIT_BY_KEY['accumulator'], record.accumulator_bits)}  PBS "
                  f"{fmt_measure(CIRCUIT_BY_KEY['pbs'], record.pbs_count)}", flush=True)
        elif isinstance(message, RunRedone):
            print(f"[sweep] again: {message.label}: {message.reason}", file=sys.stderr, flush=True)
        elif isinstance(message, RunFailed):
            print(f"failed: {message.label}: {message.reason}", file=sys.stderr, flush=True)

    result = run_sweep(plan, tables, history, show, cluster=cluster)
    for reason in result.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"{len(result.records)} runs kept in {history.folder}", file=sys.stderr)
    if args.report:
        write_html_report(Path(args.report), result.records, skipped=result.skipped, tables=tables)
        print(f"wrote {args.report}", file=sys.stderr)
    if args.json:
        write_json_report(Path(args.json), result.records, skipped=result.skipped)
    return 1 if result.failures else 0


def cmd_calibrate(args) -> int:
    from .services.calibration import calibrate, calibration_path
    from .services.formatting import fmt_bytes, fmt_seconds

    print("timing lookups of each precision on this machine (about a minute)...", file=sys.stderr, flush=True)
    times = calibrate(on_progress=lambda done, total: print(f"[calibrate] circuit {done} of {total}",
                                                            file=sys.stderr, flush=True))
    print("bits  one lookup  each further lookup of a layer  keys (8 lookups)")
    for bits in sorted(times.first_s):
        print(f"{bits:4d}  {fmt_seconds(times.first_s[bits]):>10s}  {fmt_seconds(times.each_s[bits]):>30s}  "
              f"{fmt_bytes(times.key_bytes[bits]):>16s}")
    print(f"kept in {calibration_path()}", file=sys.stderr)
    return 0


def cmd_optimize(args) -> int:
    from .engine.config import ExperimentConfig
    from .services.cluster import ClusterReady, ClusterSettings
    from .services.datasets import TableStore
    from .services.formatting import fmt_bytes, fmt_latency, fmt_percent, fmt_seconds
    from .services.history import History
    from .services.optimize import OptimizeProgress, describe_winner, optimize
    from .engine.config import ConfigError
    from .services.search_space import Levers
    from .services.storage import atomic_write_json
    from .services.sweep import RunDone, RunFailed

    tables = TableStore()
    base = ExperimentConfig(data=_data_from(args, tables), restarts=args.restarts, epochs=args.epochs)
    base.validate()
    space, problems = Levers(" ".join(args.layers), " ".join(args.neurons), " ".join(args.bits),
                             " ".join(args.budgets), " ".join(args.kept) or "off").space()
    if problems:
        raise ConfigError(problems)
    # The search's own process mostly waits: every core trains candidates.
    cluster = ClusterSettings(scheduler=args.scheduler or "", workers=args.workers or os.cpu_count())

    def show(message):
        if isinstance(message, ClusterReady):
            print(f"[optimize] on {message.where} ({message.workers} connected)", file=sys.stderr, flush=True)
        elif isinstance(message, OptimizeProgress):
            lead = ""
            if message.leader is not None:
                lead = (f"; cheapest within tolerance: {message.leader.record.label}, predicted "
                        f"{fmt_seconds(message.leader.predicted_latency_s)} per sample")
            eta = f", at most {fmt_seconds(message.eta_s)} left" if message.eta_s is not None else ""
            print(f"[optimize] {message.tried} tried, {message.to_try} to try, best validation "
                  f"{fmt_percent(message.best_validation)}{lead} ({fmt_seconds(message.elapsed_s)}{eta})",
                  file=sys.stderr, flush=True)
        elif isinstance(message, RunDone):
            m = message.record.metrics
            print(f"  {message.record.label:48s} validation {fmt_percent(m.validation_accuracy):>7s}  "
                  f"PBS {message.record.pbs_count}", file=sys.stderr, flush=True)
        elif isinstance(message, RunFailed):
            print(f"  failed: {message.label}: {message.reason}", file=sys.stderr, flush=True)

    result = optimize(base, tables, History(), show, cluster=cluster, tolerance=args.tolerance / 100, space=space,
                      encrypted_samples=args.encrypted)
    print(f"searched {len(result.tried)} candidates in {fmt_seconds(result.search_s)} "
          f"({result.ruled_out} ruled out by the cost model)")
    print("Pareto front (validation accuracy against predicted latency):")
    for tried in result.front:
        row = tried.row()
        print(f"  {row['name']:48s} validation {fmt_percent(row['validation_accuracy']):>7s}  "
              f"{fmt_seconds(row['predicted_latency_s']):>8s} per sample  {row['pbs']} PBS at "
              f"{row['lookup_bits']} bits  keys {fmt_bytes(row['key_bytes'])}")
    print(describe_winner(result))
    if result.experiment is not None:
        m, stats = result.experiment.metrics, result.experiment.stats
        if m.ceiling_accuracy is not None:
            print(f"ceiling (best possible): {fmt_percent(m.ceiling_accuracy)}")
        print(f"validation (chose it):   {fmt_percent(m.validation_accuracy)}")
        print(f"test (clear quantized):  {fmt_percent(m.clear_accuracy)}; FHE simulated "
              f"{fmt_percent(m.fhe_simulated_accuracy)}")
        print(f"circuit:                 accumulator {stats.accumulator_bits} bits, widest lookup {stats.lookup_bits} "
              f"bits, {stats.pbs_count} PBS, keys {fmt_bytes(stats.key_bytes)}")
        print(f"latency per sample:      predicted {fmt_seconds(result.winner.predicted_latency_s)}; measured "
              f"{fmt_latency(m)}")
    if args.json:
        atomic_write_json(Path(args.json), result.to_json(), mode=0o644)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if result.winner is not None else 1


def cmd_selftest(args) -> int:
    from .services.selftest import selftest

    ok, line = selftest()
    print(line)
    return 0 if ok else 1


def _global_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--version", action="version", version=f"qatstudio {__version__}")
    options.add_argument("--selftest", action="store_true",
                         help="without a window: train, compile, simulate and run one encrypted sample")
    options.add_argument("--demo", action="store_true",
                         help="open the window on the guided story (the guide's five steps, shown from shipped "
                              "experiments) and the trade-off chart")
    return options


def _window_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qatstudio", parents=[_global_options()],
                                     description="Open the window on a saved experiment.")
    parser.add_argument("file", metavar="FILE.qats", type=Path, help="the experiment to open")
    return parser


def cmd_export(args) -> int:
    from .services.datasets import TableStore
    from .services.deploy.export import export_bundle
    from .services.experiment_file import load_experiment

    tables = TableStore()
    experiment = load_experiment(Path(args.run_file), tables)
    path = export_bundle(experiment, Path(args.folder), tables, source=Path(args.run_file).name)
    print(f"exported {args.run_file} to {path.parent} (serve it: qatstudio serve {path.parent})")
    return 0


def cmd_serve(args) -> int:
    from .services.deploy.bundle import load_bundle
    from .services.deploy.server import ServerSettings, serve

    bundle = load_bundle(Path(args.folder))
    settings = ServerSettings(workers=args.workers)
    if args.key_budget_mb is not None:
        settings.key_budget_bytes = int(args.key_budget_mb * 1e6)
    print(f"serving circuit {bundle.circuit_id} on http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
    serve(bundle, args.host, args.port, settings)
    return 0


def _points_from_words(words: list[str]):
    import numpy as np

    try:
        return np.array([[float(v) for v in point.split(",")] for point in words], dtype=np.float64)
    except ValueError:
        raise ValueError("each --points value is numbers separated by commas, like 0.2,0.7") from None


class _StatusLine:
    """A progress line on stderr: rewritten in place on a terminal, else printed every PLAIN_EVERY_S."""

    PLAIN_EVERY_S = 10.0

    def __init__(self):
        self.terminal = sys.stderr.isatty()
        self.shown_at: Optional[float] = None

    def show(self, text: str) -> None:
        now = time.monotonic()
        if self.terminal:
            print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)
        elif self.shown_at is None or now - self.shown_at >= self.PLAIN_EVERY_S:
            print(text, file=sys.stderr, flush=True)
            self.shown_at = now

    def done(self, text: str) -> None:
        print(f"\r{text}\033[K" if self.terminal else text, file=sys.stderr, flush=True)
        self.shown_at = None


def cmd_predict(args) -> int:
    from .services.deploy.client import ClientError, EncryptedClient
    from .services.formatting import fmt_bytes, fmt_eta, fmt_key_bytes, fmt_seconds, remaining_seconds
    from .services.tabular import read_points

    points = None
    if args.points:
        try:
            points = _points_from_words(args.points)
        except ValueError as error:
            return _fail(str(error))
    with EncryptedClient(args.server) as client:
        if points is None:
            points = read_points(Path(args.csv), client.info["features"], client.label_column)
        points = client.check_points(points)  # before any key is made
        status = _StatusLine()
        if not client.keys_path.exists():
            estimate = client.keygen_estimate_s
            print(f"making keys for this circuit (once; they stay in {client.keys_dir})"
                  + (f", about {fmt_seconds(estimate)} from the last keys made here" if estimate else "")
                  + "...", file=sys.stderr, flush=True)

        def keygen(seconds: float, estimate: Optional[float]) -> None:
            left = f", {fmt_eta(max(0.0, estimate - seconds))}" if estimate else ""
            status.show(f"making keys: {fmt_seconds(seconds)}{left}")

        cached = client.ensure_keys(keygen)
        status.done(f"keys: {'loaded from' if cached else 'made and saved in'} {client.keys_path} "
                    f"({client.keygen_s:.1f} s)")

        def upload(sent: int, total: int, seconds: float) -> None:
            status.show(f"uploading evaluation keys: {fmt_bytes(sent)} of {fmt_bytes(total)}, "
                        f"{fmt_eta(remaining_seconds(seconds, sent, total))}")

        upload_done = client.ensure_uploaded(upload)
        if upload_done.sent_bytes:
            status.done(f"evaluation keys uploaded: {fmt_key_bytes(upload_done.sent_bytes, compressed=True)} in "
                        f"{upload_done.seconds:.1f} s, key id {upload_done.key_id}")
        else:
            status.done(f"the server already holds our evaluation keys (key id {upload_done.key_id})")
        features = ",".join(client.info["features"])
        print(f"{features:>14s}  class     encrypt  upload   server  download decrypt   sent     received", flush=True)
        answered = 0
        try:
            for prediction in client.predictions(points):
                t = prediction.timing
                point = ",".join(f"{v:.3f}" for v in prediction.point)
                print(f"{point:>14s}  {client.classes[prediction.label]:8s} {t.encrypt_s * 1e3:6.1f}ms "
                      f"{t.upload_s * 1e3:6.1f}ms {t.server_s:6.3f}s {t.download_s * 1e3:6.1f}ms "
                      f"{t.decrypt_s * 1e3:6.1f}ms {t.sent_bytes / 1e3:7.1f} kB {t.received_bytes / 1e3:7.1f} kB",
                      flush=True)
                answered += 1
        except ClientError as error:
            return _fail(f"point {answered + 1} of {len(points)}: {error} (the answers before it are above)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line but the window's file (see ``parse_command_line``)."""
    parser = argparse.ArgumentParser(
        prog="qatstudio", description=__doc__, parents=[_global_options()],
        usage="%(prog)s [-h] [--version] [--selftest] [--demo] [FILE.qats | COMMAND ...]",
        epilog="qatstudio FILE.qats opens the window on that experiment.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser("reproduce", help="print the guide's three tables, measured live")
    rep.add_argument("--fast", action="store_true", help="fewer seeds and epochs: a few minutes on 2 cores")
    rep.add_argument("--seeds", type=int, default=None, help="seeds per configuration")
    rep.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    rep.set_defaults(run=cmd_reproduce)

    tr = sub.add_parser("train", help="train, compile and evaluate one configuration")
    _add_config_arguments(tr)
    tr.add_argument("--encrypted", type=int, default=0, metavar="N", help="also run N test points encrypted")
    tr.add_argument("--save", metavar="FILE", help="save the experiment (.qats)")
    tr.add_argument("--json", metavar="FILE", help="also write every figure printed to FILE")
    tr.add_argument("--yes", action="store_true",
                    help="make the keys even when they are predicted to be large (over 2 GB) or not to fit "
                         "this machine's free memory or disk")
    tr.set_defaults(run=cmd_train)

    from .engine.config import ExperimentConfig
    from .services.ranges import SweepRanges

    sw = sub.add_parser("sweep", help="train and compile every combination; runs go to the history")
    _add_kind(sw, ExperimentConfig.kind, "--budgets")
    ranges, example = SweepRanges(), "values or ranges: 10 30, 6-8, 10-50/20"
    sw.add_argument("--neurons", nargs="+", default=[ranges.neurons], help=f"hidden neurons: {example}")
    sw.add_argument("--bits", nargs="+", default=[ranges.bits], help="bit-widths")
    sw.add_argument("--budgets", nargs="+", default=[ranges.budgets], help="pruning budgets; 'off' for none")
    sw.add_argument("--seeds", nargs="+", default=[ranges.seeds], help="seeds")
    sw.add_argument("--epochs", type=int, default=None,
                    help="default: the default recipe's, from the data's size (about 3,000 optimizer steps)")
    _add_data_arguments(sw)
    sw.add_argument("--report", metavar="FILE.html", help="write an HTML report of the sweep's runs")
    sw.add_argument("--json", metavar="FILE", help="write the runs as JSON")
    _add_cluster_arguments(sw, "one per core but one")
    sw.set_defaults(run=cmd_sweep)

    from .services.search_space import ENCRYPTED_SAMPLES, TOLERANCE, Levers, SearchSpace

    op = sub.add_parser("optimize", help="find the cheapest circuit that keeps the accuracy on your data")
    _add_data_arguments(op)
    levers = Levers.of(SearchSpace())
    op.add_argument("--tolerance", type=float, default=TOLERANCE * 100, metavar="POINTS",
                    help="validation accuracy the winner may give up against the best found, in points "
                         f"(default {TOLERANCE * 100:g})")
    op.add_argument("--layers", nargs="+", default=[levers.layers],
                    help="hidden layers to try (0: a linear model, no lookup); values or ranges like 0-2")
    op.add_argument("--neurons", nargs="+", default=[levers.neurons], help="hidden neurons to try")
    op.add_argument("--bits", nargs="+", default=[levers.bits], help="bit-widths to try")
    op.add_argument("--budgets", nargs="+", default=[levers.budgets], help="pruning budgets to try; 'off' for none")
    op.add_argument("--kept", nargs="*", default=[levers.kept],
                    help="the default recipe's network with only this many neurons per layer kept (structured "
                         "pruning); none for no such candidate")
    op.add_argument("--restarts", type=int, default=ExperimentConfig.restarts, help="models trained per candidate")
    op.add_argument("--epochs", type=int, default=None,
                    help="each candidate's epochs (default: the default recipe's, from the data's size)")
    op.add_argument("--encrypted", type=int, default=ENCRYPTED_SAMPLES, metavar="N",
                    help="the winner's test samples run encrypted (the first is the warm-up)")
    op.add_argument("--json", metavar="FILE", help="write the Pareto front and the winner to FILE")
    _add_cluster_arguments(op, "one per core")
    op.set_defaults(run=cmd_optimize)

    ca = sub.add_parser("calibrate", help="time lookups on this machine (the optimizer's cost model)")
    ca.set_defaults(run=cmd_calibrate)

    ex = sub.add_parser("export", help="write a run's circuit and client information into a deployment folder")
    ex.add_argument("run_file", metavar="RUN.qats")
    ex.add_argument("folder", metavar="DIR")
    ex.set_defaults(run=cmd_export)

    se = sub.add_parser("serve", help="serve a deployment folder: encrypted inference over HTTP")
    se.add_argument("folder", metavar="DIR")
    se.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    se.add_argument("--port", type=int, default=8000)
    se.add_argument("--workers", type=int, default=1, help="processes running the circuit")
    se.add_argument("--key-budget-mb", type=float, default=None,
                    help="evaluation keys kept on disk, in MB (default: a few key sets of the largest circuits; "
                         "the newest set is kept whatever its size)")
    se.set_defaults(run=cmd_serve)

    pr = sub.add_parser("predict", help="encrypt points, have a server classify them, decrypt the answers")
    pr.add_argument("--server", required=True, metavar="URL", help="for example http://127.0.0.1:8000")
    source = pr.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE",
                        help="points in the training file's format: a header line naming the features (any order; "
                             "the label column may stay), one point per line; or numbers only, one per feature")
    source.add_argument("--points", nargs="+", metavar="V1,V2,...",
                        help="points, one value per feature (raw values, as in the data), for example 0.2,0.7 0.5,0.1")
    pr.set_defaults(run=cmd_predict)
    parser.set_defaults(commands=tuple(sub.choices), file=None)
    return parser


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """``qatstudio [--demo] [FILE.qats]`` (the window; ``command`` is None, ``file`` the file or
    None) or ``qatstudio COMMAND ...``. A first word that names no command is the window's file."""
    parser = build_parser()
    words = [arg for arg in argv if not arg.startswith("-")]
    if words and words[0] not in parser.get_default("commands"):
        return _window_parser().parse_args(argv, argparse.Namespace(command=None))
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    """Run ``qatstudio ARGV`` and return its exit status. Called without ``argv`` (the program
    itself: console script, ``python -m qatstudio``, the frozen app) it reads sys.argv and, once
    Concrete is loaded, ends the process itself: see ``_exit_past_concrete``."""
    if argv is not None:
        return _main(argv)
    try:
        code = _main(None)
    except SystemExit as error:  # argparse: --help, --version, usage errors
        if isinstance(error.code, int) or error.code is None:
            code = error.code or 0
        else:
            print(error.code, file=sys.stderr)
            code = 1
    except BaseException as error:  # unexpected: the traceback, also kept in the log file
        from .services.logs import log_failure

        log_failure("qatstudio failed", error)
        code = 1
    _exit_past_concrete(code)
    return code


def _exit_past_concrete(code: int) -> None:
    """End the process with ``code`` if Concrete is loaded; otherwise return.

    Once a circuit has run encrypted, Concrete's runtime registers an exit hook that calls C
    ``exit(0)``: the status would always be 0 and unflushed stdout lost. So the other exit hooks
    run as usual, the streams are flushed, and the process ends with its real status.
    """
    import atexit
    import os

    hook = getattr(sys.modules.get("concrete.compiler"), "_terminate_df_parallelization", None)
    if hook is None:
        return
    atexit.unregister(hook)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(code)


def _main(argv: Optional[list[str]]) -> int:
    import multiprocessing

    from .services.logs import setup_logging

    multiprocessing.freeze_support()  # key generation runs in a spawned child, also when frozen
    setup_logging()
    args = parse_command_line(sys.argv[1:] if argv is None else argv)
    from .engine.config import ConfigError
    from .engine.errors import UserError
    from .services.tabular import MissingValues

    try:
        if args.selftest:
            return cmd_selftest(args)
        if args.command is None:
            from .services.platform_check import window_problem

            problem = window_problem()  # before Qt and torch load: a plain word instead of Qt's abort
            if problem is not None:
                return _fail(problem)
            from .gui.app import run_app

            return run_app(args.file, demo=args.demo)
        return args.run(args)
    except ConfigError as error:
        return _fail("invalid configuration:\n  - " + "\n  - ".join(error.reasons))
    except MissingValues as error:
        return _fail(f"{error} (--drop-missing drops them)")
    except UserError as error:
        return _fail(error.words())
    except KeyboardInterrupt:
        return _fail("interrupted")
