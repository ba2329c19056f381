import zipfile

import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.pipeline import run_experiment
from qatstudio.engine.training import predict
from qatstudio.services.experiment_file import ExperimentFileError, load_experiment, save_experiment


@pytest.mark.parametrize("kind, budget", [("qat", 4), ("pruned", 4)])
def test_experiment_file_round_trip(small_dataset, tmp_path, kind, budget):
    experiment = run_experiment(small_config(kind=kind, pruning_budget=budget, n_hidden=10, epochs=2), small_dataset)
    assert experiment.metrics.agreement_clear_simulated == 1.0
    path = save_experiment(tmp_path / "run.qats", experiment)
    loaded = load_experiment(path)
    assert loaded.config == experiment.config
    assert loaded.metrics == experiment.metrics
    assert loaded.stats == experiment.stats
    assert loaded.step_losses == experiment.step_losses
    assert [e.test_accuracy for e in loaded.history] == [e.test_accuracy for e in experiment.history]
    assert np.array_equal(loaded.boundary, experiment.boundary)
    x = small_dataset.x_test
    assert np.array_equal(predict(loaded.trained_model, x), predict(experiment.trained_model, x))
    assert np.array_equal(predict(loaded.brevitas_model, x), predict(experiment.brevitas_model, x))
    assert np.array_equal(loaded.integer_model.predict(x), experiment.integer_model.predict(x))
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_damaged_or_foreign_files_raise_a_readable_error(tmp_path):
    garbage = tmp_path / "garbage.qats"
    garbage.write_bytes(b"\x00not a zip")
    with pytest.raises(ExperimentFileError, match="damaged"):
        load_experiment(garbage)
    foreign = tmp_path / "foreign.qats"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("experiment.json", '{"app": "other"}')
    with pytest.raises(ExperimentFileError, match="not a QAT Studio experiment"):
        load_experiment(foreign)
    with pytest.raises(ExperimentFileError):
        load_experiment(tmp_path / "missing.qats")
