"""Generated shapes, tables, and models with many features and many classes through the whole path."""
import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.calibration import best_input_scale
from qatstudio.engine.config import SHAPES, ConfigError, DataConfig, ExperimentConfig
from qatstudio.engine.data import SHAPE_MAKERS, Table, make_dataset, shape_labels, split_table
from qatstudio.engine.evaluate import evaluate_encrypted
from qatstudio.engine.pipeline import run_experiment


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_labels_its_clean_points_by_its_rule_and_knows_its_ceiling(shape):
    config = DataConfig.for_shape(shape, n_points=2500, n_test=400, seed=3)
    clean, labels = SHAPE_MAKERS[shape].clean(config, np.random.default_rng(config.seed))
    # Two Gaussians overlap even before the jitter: their rule (the nearer centre) is the best guess.
    agreement = np.mean(shape_labels(config, clean) == labels)
    assert agreement > 0.97 if shape == "gaussians" else agreement == 1.0
    data = make_dataset(config)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == config.points_made and len(data.y_test) == 400
    assert set(np.unique(data.y_train)) == {0, 1}
    ceiling = np.mean(shape_labels(config, data.x_test) == data.y_test)
    assert data.ceiling_accuracy == pytest.approx(ceiling)
    assert 0.9 < data.ceiling_accuracy <= 1.0
    # no jitter: nothing crosses the rule, the ceiling is 100% (the Gaussians' own overlap stays)
    unjittered = make_dataset(DataConfig.for_shape(shape, n_points=2500, n_test=400, noise=0.0)).ceiling_accuracy
    assert unjittered > 0.97 if shape == "gaussians" else unjittered == 1.0
    # the seed moves the points
    other = make_dataset(DataConfig.for_shape(shape, n_points=2500, n_test=400, seed=4))
    assert not np.array_equal(other.x_test, data.x_test)


def test_a_shape_name_that_does_not_exist_is_refused_in_words():
    with pytest.raises(ConfigError, match="unknown data shape 'torus'"):
        make_dataset(DataConfig(shape="torus"))


def test_files_written_with_points_per_axis_open_as_points():
    config = ExperimentConfig.from_dict({"data": {"grid_size": 60, "clusters": 3}})
    assert (config.data.n_points, config.data.bands, config.data.grid_side) == (3600, 3, 60)


def _blobs(n: int, n_features: int, n_classes: int, seed: int = 0, names=None) -> Table:
    """Classes around random centres, features on very different scales (scaling must handle it)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (n_classes, n_features))
    labels = rng.integers(0, n_classes, n)
    features = (centres[labels] + rng.normal(0, 1.0, (n, n_features))) * np.geomspace(0.01, 1000, n_features)
    names = names or tuple(f"c{k}" for k in range(n_classes))
    return Table(features, labels.astype(np.int64), tuple(f"f{i}" for i in range(n_features)), names)


def _table_config(table: Table, **changes) -> DataConfig:
    values = dict(shape="table", table_name="blobs.csv", table_sha256="0" * 64, label_column="y",
                  n_features=table.features.shape[1], n_classes=len(table.class_names))
    values.update(changes)
    return DataConfig(**values)


def test_a_table_splits_each_class_by_the_test_share_and_scales_from_its_training_rows():
    table = _blobs(1000, 3, 3)
    data = split_table(table, _table_config(table, test_fraction=0.25, seed=1))
    for label in range(3):
        total = np.sum(table.labels == label)
        assert np.sum(data.y_test == label) == round(0.25 * total)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    raw_test = data.scaling.invert(data.x_test)
    rows = [np.flatnonzero(np.all(np.isclose(table.features, row, rtol=1e-5), axis=1))[0] for row in raw_test[:20]]
    assert np.array_equal(table.labels[rows], data.y_test[:20])
    again = split_table(table, _table_config(table, test_fraction=0.25, seed=1))
    assert np.array_equal(again.x_test, data.x_test)
    assert not np.array_equal(split_table(table, _table_config(table, test_fraction=0.25, seed=2)).y_test, data.y_test)
    assert data.ceiling_accuracy is None and data.class_names == ("c0", "c1", "c2")


def test_a_table_split_can_take_given_test_rows():
    """A benchmark's split (another library's) replaces the seeded one; scaling still from the training rows."""
    table = _blobs(200, 3, 2)
    rows = np.arange(0, 200, 5)
    data = split_table(table, _table_config(table), test_index=rows[::-1])
    assert np.array_equal(data.y_test, table.labels[rows]) and len(data.y_train) + len(data.y_val) == 160
    assert np.allclose(data.scaling.invert(data.x_test), table.features[rows], rtol=1e-5, atol=1e-5)
    train = np.setdiff1d(np.setdiff1d(np.arange(200), rows), np.flatnonzero(np.isin(
        table.features, data.scaling.invert(data.x_val)).all(axis=1)))
    assert np.array_equal(data.scaling.low, table.features[train].min(axis=0))
    for bad in ([], np.arange(200), [200]):
        with pytest.raises(ValueError, match="test rows"):
            split_table(table, _table_config(table), test_index=np.asarray(bad, dtype=np.int64))


def test_the_plane_view_varies_two_features_and_holds_the_others_at_their_median():
    table = _blobs(600, 4, 2)
    data = make_dataset(_table_config(table), table)
    plane = data.on_plane(2, 3)
    others = plane.grid[:, [0, 1]]
    assert np.allclose(others, np.median(data.x_train, axis=0)[[0, 1]])
    assert plane.grid[:, 2].min() == 0 and plane.grid[:, 3].max() == 1
    with pytest.raises(ValueError, match="two different features"):
        data.on_plane(1, 1)


def test_many_features_take_the_input_step_from_the_data_extent():
    """Cells would hold one point each: the step spans the data over the levels."""
    x = np.random.default_rng(0).uniform(0, 1, (2000, 8))
    assert best_input_scale(x, (x[:, 0] > 0.5).astype(int), 7, signed=False) == pytest.approx(x.max() / 7)


@pytest.mark.slow
@pytest.mark.parametrize("n_features, n_classes", [(2, 3), (10, 2)])
def test_many_classes_and_many_features_stay_bit_exact_from_brevitas_to_fhe(n_features, n_classes, key_cache):
    """Brevitas, the integer model and Concrete's simulation agree on all 500 test points."""
    table = _blobs(2500, n_features, n_classes, seed=n_features)
    data = make_dataset(_table_config(table), table)
    assert len(data.y_test) == 500
    config = small_config(n_hidden=24, pruning_budget=6, epochs=3, data=_table_config(table))
    experiment = run_experiment(config, data, insecure_key_cache=key_cache)
    m = experiment.metrics
    assert m.agreement_brevitas_clear == 1.0 and m.agreement_clear_simulated == 1.0
    assert m.fhe_simulated_accuracy == m.brevitas_accuracy > 1.2 / n_classes
    assert experiment.integer_model.output_scale.shape == (n_classes,)
    assert np.sum(m.confusion) == 500 and len(m.class_accuracy) == n_classes
    assert experiment.history[-1].boundary.shape == ((100, 100) if n_classes == 2 else (100, 100, n_classes))
    if n_features > 2:
        assert not experiment.integer_model.enumerable and not experiment.stats.enumerated
        # the worst-case bounds hold for every input of the box, so the circuit is sized by them
        assert all(layer.acc_min == layer.bound_min for layer in experiment.integer_model.layers)
    if n_classes > 2:
        compiled = experiment.compiled
        compiled.keygen()
        evaluate_encrypted(m, data, compiled, 2)
        assert m.agreement_clear_executed == 1.0
