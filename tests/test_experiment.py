import json
import zipfile

import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.config import ModelKind
from qatstudio.engine.pipeline import run_experiment
from qatstudio.engine.training import predict
from qatstudio.services.datasets import TableStore
from qatstudio.services.experiment_file import FILE_FORMAT, ExperimentFileError, load_experiment, save_experiment
from qatstudio.services.formatting import config_name


@pytest.mark.parametrize("kind, budget", [(ModelKind.QAT, 4), (ModelKind.FLOAT, 4)])
def test_experiment_file_round_trip(small_dataset, tmp_path, kind, budget):
    experiment = run_experiment(small_config(kind=kind, pruning_budget=budget, n_hidden=10, epochs=2), small_dataset)
    assert experiment.metrics.agreement_clear_simulated == 1.0
    path = save_experiment(tmp_path / "run.qats", experiment, TableStore())
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


def test_a_file_of_the_retired_kind_pruned_opens_as_a_float_model_with_its_budget(small_dataset, tmp_path):
    """Files before format 3 had a kind "pruned" for a float model with a pruning budget."""
    config = small_config(kind=ModelKind.FLOAT, pruning_budget=4, n_hidden=10, epochs=1)
    path = save_experiment(tmp_path / "run.qats", run_experiment(config, small_dataset, compile=False), TableStore())
    old = tmp_path / "old.qats"
    with zipfile.ZipFile(path) as new, zipfile.ZipFile(old, "w") as archive:
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "experiment.json":
                manifest = json.loads(data)
                assert (manifest["format"], manifest["config"]["kind"]) == (FILE_FORMAT, "float") and FILE_FORMAT == 3
                data = json.dumps({**manifest, "format": 2, "config": {**manifest["config"], "kind": "pruned"}})
            archive.writestr(item, data)
    loaded = load_experiment(old)
    assert loaded.config == config and config_name(loaded.config).startswith("pruned 3-bit 10n budget 4")


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


def _machines_run(tables: TableStore, epochs=1):
    """A 2-bit QAT net trained (not compiled) on the shipped 4-feature example table, its rows kept in ``tables``."""
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    tables.remember(imported)
    config = small_config(n_hidden=6, bits=2, epochs=epochs, data=imported.data_config(test_fraction=0.1))
    return imported, run_experiment(config, tables.dataset_for(config.data), compile=False)


def test_a_table_run_stores_its_rows_and_scaling_and_opens_without_the_csv(tmp_path):
    tables = TableStore()
    imported, experiment = _machines_run(tables)
    path = save_experiment(tmp_path / "table.qats", experiment, tables)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("experiment.json"))
        assert archive.getinfo("table.npz").compress_type == zipfile.ZIP_STORED
    scaling = tables.dataset_for(experiment.config.data).scaling
    assert manifest["scaling"] == scaling.to_dict()
    assert manifest["config"]["data"]["table_sha256"] == imported.sha256
    assert manifest["config"]["data"]["table_name"] == "machines.csv"
    assert manifest["config"]["data"]["table_bytes"] == imported.size_bytes

    tables = TableStore()  # as in a new session: only the file
    loaded = load_experiment(path, tables)
    table = tables.table_for(loaded.config.data)
    assert np.array_equal(table.features, imported.table.features)
    assert np.array_equal(table.labels, imported.table.labels)
    assert (table.feature_names, table.class_names) == (imported.table.feature_names, ("0", "1"))
    dataset = tables.dataset_for(loaded.config.data)
    x = dataset.x_test
    assert np.array_equal(loaded.integer_model.predict(x), experiment.integer_model.predict(x))


def test_a_table_too_large_to_store_or_not_loaded_is_refused_in_words(tmp_path, monkeypatch):
    from qatstudio.services import experiment_file

    tables = TableStore()
    _, experiment = _machines_run(tables)
    monkeypatch.setattr(experiment_file, "MAX_STORED_TABLE_BYTES", 1000)
    with pytest.raises(ExperimentFileError, match=r"takes 160.0 kB as numbers, more than the 1.0 kB an experiment "
                                                  r"file stores; import a sample of its rows"):
        save_experiment(tmp_path / "big.qats", experiment, tables)
    monkeypatch.undo()
    with pytest.raises(ExperimentFileError, match="rows of machines.csv are not loaded"):
        save_experiment(tmp_path / "lost.qats", experiment, TableStore())
    assert not list(tmp_path.iterdir())
