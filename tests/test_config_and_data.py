import json

import numpy as np
import pytest

from qatstudio.engine.config import RECIPE_PRUNING_BUDGET, ConfigError, DataConfig, ExperimentConfig, ModelKind
from qatstudio.engine.data import checkerboard_labels, make_dataset
from qatstudio.engine.pipeline import run_experiment


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(bits=1), "bit-width must be between 2 and 8"),
        (dict(bits=9), "bit-width must be between 2 and 8"),
        (dict(kind=ModelKind.QAT, pruning_budget=0), "pruning budget (non-zero inputs per neuron) must be between 1 and"),
        (dict(kind=ModelKind.QAT, n_hidden=20, pruning_budget=21), "more than the 20 inputs"),
        (dict(n_hidden=0), "hidden neurons must be between"),
        (dict(epochs=0), "epochs must be between 1 and 1,000, or automatic (got 0)"),
        (dict(seed=-1), "seed must be between 0 and"),
        (dict(data=DataConfig(seed=-1)), "data seed must be between 0 and"),
        (dict(data=DataConfig(n_points=25, n_test=25)), "test points must be between 1 and 24 for 25 points"),
        (dict(kind="cnn"), "unknown model kind 'cnn'"),
        (dict(lr=0), "learning rate"),
        (dict(optimizer="lbfgs"), "unknown optimizer"),
    ],
)
def test_bad_values_are_refused_in_words_before_any_work(changes, words):
    config = ExperimentConfig(**changes)
    assert any(words in reason for reason in config.problems())
    events = []
    with pytest.raises(ConfigError) as caught:
        run_experiment(config, on_event=events.append)
    assert events == []  # nothing started
    assert words in str(caught.value)


def test_every_reason_is_reported_at_once():
    config = ExperimentConfig(kind="x", bits=12, n_hidden=0)
    assert len(config.problems()) >= 3


def test_default_config_is_valid_and_round_trips():
    config = ExperimentConfig(pruning_budget=20).replace(data={"noise": 0.05})
    assert config.problems() == []
    assert ExperimentConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        ExperimentConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_model_kind_is_read_from_its_word_and_written_as_it():
    assert [ModelKind.read(word) for word in ("float", "qat")] == [ModelKind.FLOAT, ModelKind.QAT]
    for word in ("pruned", "QAT", "mlp"):
        with pytest.raises(ValueError, match=f"unknown model kind '{word}': choose one of float, qat"):
            ModelKind.read(word)
    config = ExperimentConfig(kind=ModelKind.FLOAT, pruning_budget=5)
    assert json.loads(json.dumps(config.to_dict()))["kind"] == "float"
    assert ExperimentConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown model kind 'cnn'"):
        ExperimentConfig.from_dict({**config.to_dict(), "kind": "cnn"})


def test_pruning_is_the_budget_alone_for_either_kind():
    for kind in ModelKind:
        assert ExperimentConfig(kind=kind, pruning_budget=5).problems() == []
        assert ExperimentConfig(kind=kind, pruning_budget=None).problems() == []
    assert ExperimentConfig.default_recipe(kind=ModelKind.FLOAT).pruning_budget is None  # a float model stays dense
    assert ExperimentConfig.default_recipe(kind=ModelKind.QAT).pruning_budget == RECIPE_PRUNING_BUDGET
    assert ExperimentConfig.default_recipe(kind=ModelKind.FLOAT, pruning_budget=10).pruning_budget == 10


def test_settings_written_with_the_retired_kind_pruned_read_as_float_with_their_budget():
    written = {**ExperimentConfig(kind=ModelKind.FLOAT, pruning_budget=10).to_dict(), "kind": "pruned"}
    config = ExperimentConfig.from_dict(written)
    assert (config.kind, config.pruning_budget) == (ModelKind.FLOAT, 10) and config.problems() == []


def test_dataset_shape_and_split():
    data = make_dataset(DataConfig())
    assert data.x_train.shape == (7600, 2) and data.x_val.shape == (1900, 2) and data.x_test.shape == (500, 2)
    assert data.x_train.dtype == np.float32
    assert 0.4 < data.y_train.mean() < 0.6
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert len(np.unique(everything, axis=0)) == 10_000  # a true split of the grid
    assert -0.06 < everything.min() < 0.0 and 1.0 < everything.max() < 1.06  # jittered past the edges


def _guide_labels(points: np.ndarray) -> np.ndarray:
    """The guide's notebook: parity(rint(3x)) XOR parity(rint(3y))."""
    return (np.rint(3 * points[:, 0]).astype(int) % 2) ^ (np.rint(3 * points[:, 1]).astype(int) % 2)


def test_default_labels_are_the_guides_computed_independently():
    clean = make_dataset(DataConfig(noise=0.0))  # the default generator with its jitter turned off
    axis = np.linspace(0, 1, 100)
    xx, yy = np.meshgrid(axis, axis)
    grid = {tuple(p) for p in np.c_[xx.ravel(), yy.ravel()].astype(np.float32).tolist()}
    for x, y in ((clean.x_train, clean.y_train), (clean.x_test, clean.y_test)):
        assert {tuple(p) for p in x.tolist()} <= grid
        assert np.array_equal(_guide_labels(x.astype(np.float64)), y)
    # With the default jitter (0.01, added after labelling) the formula disagrees only next to a band edge.
    data = make_dataset(DataConfig())
    assert DataConfig().noise == 0.01 and DataConfig().bands == 4
    x = np.concatenate([data.x_train, data.x_test]).astype(np.float64)
    y = np.concatenate([data.y_train, data.y_test])
    wrong = _guide_labels(x) != y
    edge_distance = np.abs(x[:, :, None] - np.array([1 / 6, 1 / 2, 5 / 6])).min(axis=(1, 2))
    assert 0.02 < wrong.mean() < 0.08
    assert edge_distance[wrong].max() < 0.05 and np.median(edge_distance[wrong]) < 0.01


def test_ceiling_is_the_rule_applied_to_the_jittered_test_points():
    data = make_dataset(DataConfig(seed=3))
    rule = (np.rint(3 * np.clip(data.x_test, 0, 1)).astype(int).sum(axis=1)) % 2
    assert data.ceiling_accuracy == pytest.approx(np.mean(rule == data.y_test))
    assert 0.9 < data.ceiling_accuracy < 1.0  # the jitter moves some points across an edge
    assert make_dataset(DataConfig(noise=0.0)).ceiling_accuracy == 1.0


def test_legacy_files_keep_their_board():
    """Files written before the data set was the guide's named the bands "clusters"."""
    config = ExperimentConfig.from_dict({"data": {"clusters": 3, "noise": 0.0}})
    assert config.data.bands == 3 and config.data.noise == 0.0


def test_same_seed_same_data_bit_for_bit_and_other_seed_differs():
    a = make_dataset(DataConfig(seed=4))
    b = make_dataset(DataConfig(seed=4))
    c = make_dataset(DataConfig(seed=5))
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert a.x_test.tobytes() != c.x_test.tobytes()


def test_checkerboard_labels_are_band_parity():
    points = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [1.0, 0.0], [0.3, 0.8], [0.9, 0.9]])
    assert checkerboard_labels(points, 3).tolist() == [0, 1, 0, 0, 1, 0]  # the 3 x 3 board
    assert checkerboard_labels(points, 4).tolist() == [0, 0, 0, 1, 1, 0]  # the guide's: edges 1/6, 1/2, 5/6


def test_parameters_change_the_data():
    data = make_dataset(DataConfig(n_points=400, n_test=50, bands=3))
    assert len(data.x_train) == 280 and len(data.x_val) == 70 and len(data.x_test) == 50
