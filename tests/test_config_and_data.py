import numpy as np
import pytest

from qatstudio.core.config import ConfigError, DataConfig, ExperimentConfig
from qatstudio.core.data import checkerboard_labels, make_dataset
from qatstudio.core.experiment import run_experiment


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(bits=1), "bit-width must be between 2 and 8"),
        (dict(bits=9), "bit-width must be between 2 and 8"),
        (dict(kind="qat", pruning_budget=0), "at least 1 non-zero input"),
        (dict(kind="qat", n_hidden=20, pruning_budget=21), "more than the 20 inputs"),
        (dict(n_hidden=0), "hidden neurons must be between"),
        (dict(kind="cnn"), "unknown model kind 'cnn'"),
        (dict(kind="pruned"), "needs a pruning budget"),
        (dict(kind="float", pruning_budget=5), "float model is not pruned"),
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


def test_dataset_shape_and_split():
    data = make_dataset(DataConfig())
    assert data.x_train.shape == (9500, 2) and data.x_test.shape == (500, 2)
    assert data.x_train.dtype == np.float32
    assert 0.4 < data.y_train.mean() < 0.6
    everything = np.concatenate([data.x_train, data.x_test])
    assert len(np.unique(everything, axis=0)) == 10_000  # a true split of the grid
    assert everything.min() == 0.0 and everything.max() == 1.0


def test_same_seed_same_data_bit_for_bit_and_other_seed_differs():
    a = make_dataset(DataConfig(noise=0.02, seed=4))
    b = make_dataset(DataConfig(noise=0.02, seed=4))
    c = make_dataset(DataConfig(noise=0.02, seed=5))
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert a.x_test.tobytes() != c.x_test.tobytes()


def test_checkerboard_labels_are_cell_parity():
    points = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [1.0, 0.0], [0.3, 0.8], [0.9, 0.9]])
    assert checkerboard_labels(points, 3).tolist() == [0, 1, 0, 0, 1, 0]


def test_parameters_change_the_data():
    data = make_dataset(DataConfig(grid_size=20, n_test=50, clusters=4))
    assert len(data.x_train) == 350 and len(data.x_test) == 50
