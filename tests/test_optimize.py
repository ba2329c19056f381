"""The cost model and the optimizer, on real (tiny) models, circuits and a real Dask cluster."""
import json

import pytest
from conftest import small_config

from qatstudio.cli import main
from qatstudio.engine.config import DataConfig, ExperimentConfig
from qatstudio.engine.cost import LayerLookups, estimate_circuit, measure_lookup_times, worst_accumulator_bits
from qatstudio.engine.pipeline import run_experiment
from qatstudio.services import calibration
from qatstudio.services.cluster import ClusterSettings
from qatstudio.services.datasets import TableStore
from qatstudio.services.history import History
from qatstudio.services.optimize import least_latency_s, optimize
from qatstudio.services.search_space import SearchSpace, candidates

SEPARABLE = DataConfig.for_shape("gaussians", n_points=600, n_test=100)


@pytest.fixture(scope="session")
def measured_times():
    """This machine's lookup times at two precisions (wider ones are extrapolated)."""
    return measure_lookup_times(samples=2, bits=(2, 3))


def test_lookup_times_are_measured_and_kept(measured_times, private_home):
    times = measured_times
    assert set(times.first_s) == {2, 3} and all(t > times.overhead_s > 0 for t in times.first_s.values())
    assert times.key_bytes[3] > 0
    # a wider layer costs more; a precision beyond those measured costs more than the widest measured;
    # exact rounding adds a lookup per neuron and bit rounded away (at the tables' precision), and keys
    one, eight = LayerLookups(1, 3), LayerLookups(8, 3)
    assert times.latency_s([eight]) > times.latency_s([one]) > times.latency_s([]) == times.overhead_s
    assert times.latency_s([LayerLookups(1, 5)]) > times.latency_s([one])
    assert times.latency_s([LayerLookups(8, 2, rounded_bits=1)]) == pytest.approx(
        times.latency_s([LayerLookups(16, 2)]))
    assert times.keys_bytes([LayerLookups(8, 2, rounded_bits=1)]) == times.key_bytes[2] + times.key_bytes[3]
    assert times.keys_bytes([]) == 0
    assert calibration.cached_lookup_times() is None
    calibration.calibration_path().parent.mkdir(parents=True)
    calibration.calibration_path().write_text(json.dumps(times.to_dict()))
    assert calibration.cached_lookup_times() == times


def test_the_estimate_bounds_the_compiled_circuit(measured_times):
    """Before training, the estimate is a worst case: the compiled circuit never needs more."""
    for changes in (dict(n_hidden=6, pruning_budget=None), dict(n_hidden=8, pruning_budget=2),
                    dict(n_hidden=6, accumulator_bits=6, lookup_bits=None)):
        config = small_config(epochs=1, **changes)
        estimate = estimate_circuit(config, measured_times)
        stats = run_experiment(config, simulate=False).stats
        assert estimate.accumulator_bits >= max(layer.accumulator_bits for layer in stats.layers[:-1])
        assert estimate.lookup_bits >= stats.lookup_bits
        assert estimate.pbs >= stats.pbs_count
        assert estimate.latency_s >= measured_times.circuit_latency_s(stats) > 0
    assert worst_accumulator_bits(2, 3) == 7  # 2 inputs of 0..7 times weights of -3..3: |acc| <= 42
    assert worst_accumulator_bits(100, 3, accumulator_bits=8) == 8


def test_candidates_are_distinct_circuits():
    base = ExperimentConfig(data=SEPARABLE)
    found = candidates(base, SearchSpace(layers=(0, 2), neurons=(4, 8), bits=(3,), budgets=(None, 2), kept=(8, 200)))
    # a linear model once (its neurons and budget mean nothing); budget 2 on 2 features prunes nothing
    # in the first layer but does in the second; the recipe's 100 neurons can keep 8, not 200
    assert sum(c.n_layers == 0 for c in found) == 1
    assert [(c.n_hidden, c.neurons_kept) for c in found if c.neurons_kept] == [(100, 8)]
    assert len(found) == 1 + 2 * 2 + 1
    assert all(c.restarts == base.restarts and c.epochs == base.epochs for c in found)


def test_optimize_finds_the_linear_model_and_rules_out_the_rest(measured_times, tmp_path):
    """Two Gaussians are linearly separable: a linear model (no lookup) is within the tolerance of
    the default recipe, so the cost model rules out every candidate with hidden neurons."""
    history = History(tmp_path / "history")
    messages = []
    result = optimize(ExperimentConfig(data=SEPARABLE, restarts=1, epochs=40), TableStore(), history, messages.append,
                      cluster=ClusterSettings(workers=1), tolerance=0.02,
                      space=SearchSpace(layers=(0, 1), neurons=(4, 8, 16), bits=(3,), budgets=(None,), kept=()),
                      encrypted_samples=2, times=measured_times)
    assert result.winner is not None and result.winner.record.config.n_layers == 0
    assert result.ruled_out == 3 and len(result.tried) == 2  # the default recipe and the linear model
    assert least_latency_s(result.tried[0].record.config, measured_times) > result.winner.predicted_latency_s
    records, _ = history.load()
    assert len(records) == 2 and all(r.experiment_path for r in records)
    m = result.experiment.metrics
    assert m.fhe_executed_samples == 2 and m.agreement_clear_executed == 1.0 and m.fhe_latency_s > 0
    assert result.experiment.stats.pbs_count == 0
    payload = result.to_json()
    assert {"validation_accuracy", "test_accuracy", "ceiling_accuracy", "accumulator_bits", "lookup_bits", "pbs",
            "key_bytes", "predicted_latency_s", "measured_latency_s"} <= set(payload["winner"])
    assert payload["winner"]["measured_latency_s"] == m.fhe_latency_s
    assert payload["front"][0]["name"] == result.winner.record.label


def test_optimize_on_the_command_line(measured_times, private_home, tmp_path, capsys):
    calibration.calibration_path().parent.mkdir(parents=True)
    calibration.calibration_path().write_text(json.dumps(measured_times.to_dict()))
    out = tmp_path / "front.json"
    code = main(["optimize", "--shape", "gaussians", "--points", "2000", "--layers", "0", "--bits", "3", "--kept",
                 "--restarts", "1", "--epochs", "40", "--tolerance", "2", "--encrypted", "2", "--workers", "1", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "QAT 3-bit linear" in printed and "predicted" in printed and "measured" in printed
    winner = json.loads(out.read_text())["winner"]
    assert winner["pbs"] == 0 and winner["measured_latency_s"] > 0
