"""Sweeps on a real local Dask cluster of worker processes: runs reach the history as they finish,
a worker that dies loses only its run, and Cancel leaves no process behind."""
from __future__ import annotations

import functools
import multiprocessing
import urllib.request

import psutil
import pytest
from conftest import small_config
from sweep_hooks import run_or_die

from qatstudio.services.cluster import ClusterError, ClusterReady, ClusterSettings
from qatstudio.services.datasets import TableStore
from qatstudio.services.history import History
from qatstudio.services.sweep import RunDone, RunFailed, RunRedone, SweepPlan, SweepProgress, run_sweep


def tiny_plan(neurons, seeds=(0,)) -> SweepPlan:
    base = small_config(n_hidden=8, epochs=1).replace(data={"n_points": 900, "n_test": 100})
    return SweepPlan(base, neurons=list(neurons), bits=[3], budgets=[None], seeds=list(seeds))


def worker_processes() -> list[psutil.Process]:
    """Our child processes, but multiprocessing's resource tracker (one per process, ends with it)."""
    return [p for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())]


def test_a_sweep_on_local_worker_processes_feeds_the_history(tmp_path):
    history = History(tmp_path / "history")
    messages, dashboard = [], []

    def report(message):
        messages.append(message)
        if isinstance(message, ClusterReady):  # the link is live while the sweep runs
            with urllib.request.urlopen(message.dashboard_url, timeout=30) as page:
                dashboard.append(page.status)

    result = run_sweep(tiny_plan([6, 8], seeds=[0, 1]), TableStore(), history, report, cluster=ClusterSettings(workers=2))
    assert not result.cancelled and not result.failures and len(result.records) == 4
    ready = messages[0]
    assert isinstance(ready, ClusterReady) and ready.workers == 2 and dashboard == [200]
    done = [m.record.id for m in messages if isinstance(m, RunDone)]
    assert done == [r.id for r in result.records] == [r.id for r in history.load()[0]]  # in the order they came
    progress = [m for m in messages if isinstance(m, SweepProgress)]
    assert progress[-1].done == 4 and progress[-1].queued == progress[-1].running == 0
    assert max(p.running for p in progress) >= 1 and all(p.running <= 2 for p in progress)
    assert {(r.config.n_hidden, r.config.seed) for r in result.records} == {(6, 0), (6, 1), (8, 0), (8, 1)}
    assert all(r.accumulator_bits and r.metrics.fhe_simulated_accuracy is not None for r in result.records)
    assert not worker_processes()


def test_a_worker_that_dies_loses_only_its_run(tmp_path):
    """7 neurons kill their worker twice (reported with the reason); 6 neurons once (retried, kept)."""
    history = History(tmp_path / "history")
    failed = []
    run = functools.partial(run_or_die, always=7, once=6, marks=str(tmp_path), after_s=2.0)
    result = run_sweep(tiny_plan([5, 6, 7, 8]), TableStore(), history,
                       lambda m: failed.append(m) if isinstance(m, RunFailed) else None,
                       cluster=ClusterSettings(workers=2), run=run)
    assert sorted(r.config.n_hidden for r in result.records) == [5, 6, 8]
    assert sorted(r.config.n_hidden for r in history.load()[0]) == [5, 6, 8]
    assert (tmp_path / "died-6-0").exists()  # 6 did die once before it was kept
    assert failed == result.failures and len(failed) == 1
    assert "7n" in failed[0].label and "worker process died twice" in failed[0].reason
    assert not list(history.folder.glob("*.part")) and not worker_processes()


def test_a_table_sweep_survives_the_death_of_the_worker_holding_its_rows(tmp_path):
    """One worker holds the table's rows: when it dies they are sent again and the runs that needed
    them run again (told as such); a run that kills its worker twice still fails with the reason."""
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    tables = TableStore()
    tables.remember(imported)
    plan = SweepPlan(small_config(bits=2, epochs=1, data=imported.data_config()), neurons=[4, 5, 7], bits=[2],
                     budgets=[None], seeds=[0])
    messages = []
    run = functools.partial(run_or_die, always=7, once=5, marks=str(tmp_path), after_s=3.0)
    result = run_sweep(plan, tables, History(tmp_path / "history"), messages.append, cluster=ClusterSettings(workers=1),
                       run=run)
    assert sorted(r.config.n_hidden for r in result.records) == [4, 5], (result.failures, messages)
    assert (tmp_path / "died-5-0").exists()  # 5 did die once before it was kept
    assert len(result.failures) == 1 and "7n" in result.failures[0].label
    assert "worker process died twice" in result.failures[0].reason
    redone = [m for m in messages if isinstance(m, RunRedone)]
    assert any("5n" in m.label for m in redone) and all("table's rows" in m.reason for m in redone)
    assert isinstance(messages[-1], SweepProgress) and messages[-1].done == 2 and messages[-1].failed == 1
    assert not worker_processes()


def test_cancel_keeps_finished_runs_and_leaves_no_process(tmp_path):
    history = History(tmp_path / "history")
    done = []
    result = run_sweep(tiny_plan([4, 5, 6, 7, 8, 9]), TableStore(), history,
                       lambda m: done.append(m.record) if isinstance(m, RunDone) else None,
                       should_stop=lambda: len(done) >= 1, cluster=ClusterSettings(workers=2))
    assert result.cancelled and 1 <= len(result.records) < 6
    assert [r.id for r in history.load()[0]] == [r.id for r in result.records] == [r.id for r in done]
    assert not worker_processes() and not multiprocessing.active_children()


def test_a_bad_scheduler_address_is_refused_in_words(tmp_path):
    with pytest.raises(ClusterError, match="tcp://HOST:PORT"):
        run_sweep(tiny_plan([6]), TableStore(), History(tmp_path / "h"), cluster=ClusterSettings(scheduler="my-laptop"))
    with pytest.raises(ClusterError, match="can't reach the Dask scheduler"):
        run_sweep(tiny_plan([6]), TableStore(), History(tmp_path / "h"), cluster=ClusterSettings(scheduler="tcp://127.0.0.1:9", connect_timeout_s=1))
    assert not (tmp_path / "h").exists()


def test_a_sweep_on_a_table_sends_its_rows_to_the_workers(tmp_path):
    """Worker processes don't hold the table imported here: its rows go with the runs."""
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    tables = TableStore()
    tables.remember(imported)
    base = small_config(bits=2, epochs=1, data=imported.data_config())
    plan = SweepPlan(base, neurons=[4, 6], bits=[2], budgets=[None], seeds=[0])
    result = run_sweep(plan, tables, History(tmp_path / "history"), cluster=ClusterSettings(workers=1))
    assert not result.failures and sorted(r.config.n_hidden for r in result.records) == [4, 6]
    assert all(r.config.data == imported.data_config() and r.metrics.fhe_simulated_accuracy is not None
               for r in result.records)
    assert not worker_processes()
