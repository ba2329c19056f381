"""The default recipe: validation chooses, a schedule from the data's size, restarts, bounded lookups,
and keys whose cost is known (and refused) before they are made."""
import json

import numpy as np
import pytest
from conftest import small_config

from qatstudio.cli import main
from qatstudio.engine.config import DataConfig, ExperimentConfig
from qatstudio.engine.data import Table, make_dataset, split_table
from qatstudio.engine.pipeline import quantize, run_experiment
from qatstudio.engine.training import Epoch, Step, schedule_for, train, validation_score
from qatstudio.services import key_budget


def test_validation_is_held_out_of_training_per_class_and_leaves_the_test_points_alone():
    with_validation = make_dataset(DataConfig(seed=3))
    more = make_dataset(DataConfig(seed=3, validation_fraction=0.4))
    train_rows = {tuple(row) for row in with_validation.x_train}
    assert not train_rows & {tuple(row) for row in with_validation.x_val}
    assert not train_rows & {tuple(row) for row in with_validation.x_test}
    assert np.array_equal(with_validation.x_test, more.x_test)  # test points don't depend on validation
    assert len(with_validation.y_val) + len(with_validation.y_train) == 9500
    for label in (0, 1):
        share = np.mean(with_validation.y_val == label) / np.mean(with_validation.y_train == label)
        assert share == pytest.approx(1.0, abs=0.02)  # stratified
    assert len(more.y_val) == pytest.approx(2 * len(with_validation.y_val), rel=0.01)
    assert DataConfig(validation_fraction=0.9).problems()


def test_a_table_keeps_validation_rows_of_every_class():
    rng = np.random.default_rng(0)
    table = Table(rng.uniform(0, 10, (30, 3)), np.repeat([0, 1, 2], 10), ("a", "b", "c"), ("x", "y", "z"))
    config = DataConfig(shape="table", table_sha256="0" * 64, label_column="k", n_features=3, n_classes=3)
    dataset = split_table(table, config)
    assert sorted(set(dataset.y_val.tolist())) == [0, 1, 2]
    assert len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test) == 30


@pytest.mark.parametrize("rows, batch", [(96, 16), (7600, 64), (1_000_000, 1024)])
def test_the_automatic_schedule_is_set_in_steps_from_the_datas_size(rows, batch):
    schedule = schedule_for(ExperimentConfig(), rows)
    assert schedule.batch_size == batch
    assert 3000 <= schedule.total_steps < 3000 + 3 * schedule.steps_per_epoch
    assert schedule.epochs >= 3 and schedule.epochs / schedule.eval_every <= 50
    fixed = schedule_for(ExperimentConfig(epochs=7, batch_size=100), rows)
    assert (fixed.epochs, fixed.batch_size) == (7, 100)


def test_validation_chooses_the_kept_model_among_every_evaluation(small_dataset):
    config = small_config(n_hidden=12, pruning_budget=4, epochs=8, restarts=2, lr=0.01)
    events = []
    result = train(config, small_dataset, events.append)
    evaluations = [e for e in events if isinstance(e, Epoch)]
    steps = [e for e in events if isinstance(e, Step)]
    assert {e.restart for e in evaluations} == {0, 1}
    assert steps[-1].step == steps[-1].total_steps == 2 * schedule_for(config, len(small_dataset.y_train)).total_steps
    best = max(e.validation_accuracy for e in evaluations if e.epoch >= 3)  # pruning ends at 30% of the steps
    assert result.validation_accuracy == best
    kept = result.kept_record
    assert kept.restart == result.kept_restart and kept.validation_accuracy == best
    # the kept model is that evaluation's model: the same validation accuracy, measured again
    assert validation_score(config, result.model, small_dataset)[0] == best
    assert all(e.test_predictions.shape == small_dataset.y_test.shape for e in evaluations)


def test_a_model_that_stops_improving_stops_early(small_dataset):
    config = small_config(n_hidden=8, epochs=200, batch_size=256, lr=1e-6)
    result = train(config, small_dataset)
    assert result.stopped_early and result.history[-1].epoch < 200


def test_lookups_are_bounded_by_rounding_and_brevitas_stays_the_circuits_twin():
    rng = np.random.default_rng(1)
    features = rng.uniform(0, 1, (600, 8))
    labels = (features[:, :4].sum(axis=1) > features[:, 4:].sum(axis=1)).astype(np.int64)
    table = Table(features, labels, tuple("abcdefgh"), ("no", "yes"))
    data = DataConfig(shape="table", table_sha256="1" * 64, label_column="k", n_features=8, n_classes=2)
    dataset = split_table(table, data)
    unbounded = ExperimentConfig(n_hidden=20, epochs=15, restarts=1, lookup_bits=None, data=data)
    model = train(unbounded, dataset).model
    _, wide = quantize(unbounded, model, dataset)
    assert max(layer.lookup_bits for layer in wide.layers[:-1]) > 5
    bounded = unbounded.replace(lookup_bits=5, rounding="exact")
    brevitas, narrow = quantize(bounded, model, dataset)
    assert max(layer.lookup_bits for layer in narrow.layers[:-1]) == 5
    assert any(layer.round_bits for layer in narrow.layers[:-1])
    from qatstudio.engine.training import predict

    assert np.array_equal(predict(brevitas, dataset.x_test), narrow.predict(dataset.x_test))


def test_the_default_circuit_on_a_four_feature_table_is_bounded_and_its_keys_are_small():
    rng = np.random.default_rng(2)
    features = rng.normal(0, 1, (300, 4)) + np.repeat(np.eye(3, 4) * 3, 100, axis=0)
    table = Table(features, np.repeat([0, 1, 2], 100), tuple("abcd"), ("p", "q", "r"))
    data = DataConfig(shape="table", table_sha256="2" * 64, label_column="k", n_features=4, n_classes=3)
    experiment = run_experiment(ExperimentConfig.default_recipe(data=data, epochs=20, restarts=1),
                                split_table(table, data))
    stats = experiment.stats
    assert stats.lookup_bits <= 5 and stats.key_bytes < 1e9
    assert experiment.metrics.validation_accuracy is not None
    assert experiment.metrics.agreement_clear_simulated >= 0.95  # approximate rounding may differ on a few


def test_train_refuses_costly_keys_without_yes_and_writes_every_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(key_budget, "ASK_ABOVE_BYTES", 1000)  # any circuit's keys are "large" now
    report = tmp_path / "run.json"
    code = main(["train", "--neurons", "6", "--budget", "off", "--epochs", "1", "--restarts", "1",
                 "--encrypted", "1", "--json", str(report)])
    err = capsys.readouterr().err
    assert code == 2 and "not making the keys" in err and "Add --yes" in err
    assert "bound the widest lookup" not in err  # already bounded: the hint names what is left
    assert not report.exists()  # nothing written for a refused run
    code = main(["train", "--neurons", "6", "--budget", "off", "--epochs", "1", "--restarts", "1",
                 "--json", str(report)])
    assert code == 0
    row = json.loads(report.read_text())
    for key in ("validation_accuracy", "test_accuracy", "ceiling_accuracy", "accumulator_bits", "lookup_bits",
                "pbs", "key_bytes", "train_s", "compile_s"):
        assert key in row
    assert row["lookup_bits"] <= 5 and row["ceiling_accuracy"] is not None


def test_the_windows_training_job_and_the_command_line_train_the_same_model_on_a_large_set():
    """One engine entry builds and calibrates the model for every caller: above the 20,000 rows
    that choose the input step from a sample, the window's job (in its training process) and
    `train` (here) still agree bit for bit, and so do what the window shows after training."""
    import torch

    from qatstudio.engine.training import predict
    from qatstudio.services.datasets import TableStore
    from qatstudio.services.jobs import TrainOutcome, train_job, training_process
    from qatstudio.services.tasks import TaskState

    config = ExperimentConfig(n_hidden=8, epochs=1, restarts=1, pruning_budget=4,
                              data=DataConfig(n_points=40_000, n_test=500))
    tables = TableStore()
    dataset = tables.dataset_for(config.data)
    assert len(dataset.y_train) > 20_000
    beside = training_process()
    try:
        outcome: TrainOutcome = train_job(config, tables, beside)(TaskState(), lambda message: None)
        child = beside.pid
    finally:
        beside.close()
    assert child is not None and not beside.is_alive()
    alone = train(config, dataset).model
    window = outcome.experiment.trained_model.state_dict()
    for name, value in alone.state_dict().items():
        assert torch.equal(value, window[name]), name
    here = train_job(config, tables)(TaskState(), lambda message: None)  # the same job in this process
    experiment, expected = outcome.experiment, here.experiment
    assert outcome.dataset is dataset and np.array_equal(outcome.test_predictions, here.test_predictions)
    assert experiment.metrics == expected.metrics and experiment.step_losses == expected.step_losses
    assert experiment.integer_model.to_arrays().keys() == expected.integer_model.to_arrays().keys()
    for name, value in expected.integer_model.to_arrays().items():
        assert np.array_equal(value, experiment.integer_model.to_arrays()[name]), name
    assert [e.validation_accuracy for e in experiment.history] == [e.validation_accuracy for e in expected.history]
    assert np.array_equal(experiment.boundary, expected.boundary)
    # the Brevitas model rebuilt here is still the integer model's twin
    assert np.array_equal(predict(experiment.brevitas_model, dataset.x_test), experiment.integer_model.predict(dataset.x_test))
