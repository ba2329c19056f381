import dataclasses
import json

import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.config import BOUNDS, ModelKind
from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.datasets import TableStore
from qatstudio.services.experiment_file import load_experiment
from qatstudio.services.formatting import PRUNED_FLOAT_LOOK, config_look, config_name, fmt_key_bytes, fmt_latency, fmt_percent, fmt_progress, plural, run_name
from qatstudio.services.history import STOPPED_EARLY, History, RunRecord, pareto_front, same_data, shared_ceiling
from qatstudio.services.ranges import MAX_RANGE, SweepRanges, parse_values, values_text
from qatstudio.services.report import png_bytes, write_html_report, write_json_report
from qatstudio.services.sweep import SweepPlan, parse_plan


@pytest.fixture(scope="module")
def record(small_dataset):
    return RunRecord.from_experiment(run_experiment(small_config(n_hidden=8, pruning_budget=4, epochs=1), small_dataset))


def test_history_survives_a_restart_and_skips_damaged_entries(record, tmp_path):
    history = History(tmp_path / "history")
    history.add(record)
    (history.folder / "broken.json").write_text("{not json")
    (history.folder / "foreign.json").write_text(json.dumps({"id": "x", "created": 1, "config": {"colour": 1},
                                                             "metrics": {}}))
    records, problems = History(tmp_path / "history").load()  # a new instance: as after a restart
    assert [r.id for r in records] == [record.id]
    assert len(problems) == 2 and all("damaged" in p for p in problems)
    loaded = records[0]
    assert loaded.config == record.config and loaded.metrics == record.metrics and loaded.stats == record.stats
    assert loaded.stats.accumulator_bits == record.accumulator_bits and loaded.accuracy == record.accuracy
    assert np.abs(loaded.boundary - record.boundary).max() <= 0.5 / 255 + 1e-6
    assert not list(history.folder.glob("*.part"))


def test_a_history_file_from_before_the_rename_still_opens(record, tmp_path):
    """Records written before "report" was called "stats" load with their circuit figures."""
    values = record.to_json()
    values["report"] = values.pop("stats")
    (tmp_path / f"{record.id}.json").write_text(json.dumps(values))
    [loaded], problems = History(tmp_path).load()
    assert not problems and loaded.stats == record.stats and loaded.pbs_count == record.pbs_count
    assert "stats" in History(tmp_path).add(loaded).to_json()  # written back under the new name


def test_a_history_entry_of_the_retired_kind_pruned_opens_as_a_float_model_named_as_before(record, tmp_path):
    pruned = dataclasses.replace(record, config=record.config.replace(kind=ModelKind.FLOAT))
    values = {**pruned.to_json(), "format": 1}
    values["config"]["kind"] = "pruned"  # as written before history format 2
    (tmp_path / f"{record.id}.json").write_text(json.dumps(values))
    [loaded], problems = History(tmp_path).load()
    assert not problems and loaded.config == pruned.config and loaded.config.pruning_budget == 4
    assert config_look(loaded.config) is PRUNED_FLOAT_LOOK and config_name(loaded.config).startswith("pruned 3-bit")
    written = History(tmp_path).add(loaded).to_json()
    assert (written["format"], written["config"]["kind"]) == (2, "float")


def test_history_defaults_to_the_users_data_folder(private_home, record, small_dataset):
    history = History()
    kept = history.keep(RunRecord.from_json(record.to_json()), run_experiment(small_config(epochs=1), small_dataset),
                        TableStore())
    assert str(history.folder).startswith(str(private_home))
    assert kept.experiment_path == str(history.runs_folder / f"{kept.id}.qats")
    assert load_experiment(kept.experiment_path).config == small_config(epochs=1)
    assert history.get(kept.id).experiment_path == kept.experiment_path
    history.remove(kept.id)  # the record and its experiment file
    assert history.load() == ([], []) and not list(history.runs_folder.iterdir())


def test_runs_are_named_with_their_data_set_and_ranked_on_the_same_data_only(record, tmp_path):
    spirals = dataclasses.replace(record.config, data=dataclasses.replace(record.config.data, shape="spirals"))
    assert record.label == run_name(record.config) == f"{config_name(record.config)} on checkerboard"
    assert run_name(spirals) == f"{config_name(spirals)} on spirals" != record.label
    other = RunRecord.from_json({**record.to_json(), "id": "other", "config": spirals.to_dict(), "label": ""})
    assert same_data([record, record]) and not same_data([record, other])
    # a ceiling is drawn (chart and report alike) only over runs of one data set
    assert record.metrics.ceiling_accuracy is not None
    assert shared_ceiling([record, record]) == record.metrics.ceiling_accuracy
    assert shared_ceiling([record, other]) is None and shared_ceiling([]) is None

    # a record kept before names had their data set gets it when read (a name of the user's own stays)
    history = History(tmp_path / "history")
    old_file = {key: value for key, value in record.to_json().items() if key != "stopped"}  # before the field
    for name, label in (("old", config_name(record.config)), ("stopped", config_name(record.config) + STOPPED_EARLY),
                        ("own", "my best run")):
        history.add(RunRecord.from_json({**old_file, "id": name, "label": label}))
    loaded = {r.id: r for r in history.load()[0]}
    assert {key: r.label for key, r in loaded.items()} == {
        "old": record.label, "stopped": record.label + STOPPED_EARLY, "own": "my best run"}
    assert {key for key, r in loaded.items() if r.stopped} == {"stopped"}  # read from the label once, then kept
    history.add(loaded["stopped"])
    assert RunRecord.from_json(loaded["stopped"].to_json()).stopped


def test_counts_name_what_they_count():
    assert [plural(n, "sample") for n in (0, 1, 2, 1200)] == ["0 samples", "1 sample", "2 samples", "1,200 samples"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == "3 classes"
    assert fmt_progress(16, 500, "test point") == "16 / 500 test points"
    assert fmt_key_bytes(521_000_000, compressed=False) == "521.0 MB uncompressed"
    assert fmt_key_bytes(82_200_000, compressed=True) == "82.2 MB compressed"


def test_latency_is_the_steady_state_with_the_warm_up_apart():
    from qatstudio.engine.evaluate import Metrics

    assert fmt_latency(Metrics(fhe_latency_s=0.376, fhe_warmup_s=1.82)) == (
        "376 ms (median, after a one-time warm-up of 1.8 s)")
    one = fmt_latency(Metrics(fhe_warmup_s=2.0))  # one sample: only its warm-up, which is not a latency
    assert one == "not measured (2.0 s was the one-time warm-up: needs 2 or more samples)"


def test_pareto_front():
    points = [(7, 0.90), (5, 0.80), (6, 0.95), (7, 0.99), (5, 0.70), (8, 0.97)]
    assert pareto_front(points) == [1, 2, 3]


def test_sweep_ranges_are_read_or_refused_in_words():
    base = small_config(epochs=1)
    plan, problems = parse_plan(base, SweepRanges("6-8, 10-30/10", "3", "off, 4", "0 1"), TableStore())
    assert not problems and plan.neurons == [6, 7, 8, 10, 20, 30] and plan.budgets == [None, 4]
    assert plan.seeds == [0, 1] and plan.base.pruning_budget is None
    plan, problems = parse_plan(base, SweepRanges("6, x", "9", "", "0"), TableStore())
    assert plan is None and "can't read 'x'" in problems[0] and "between 2 and 8" in problems[1]
    assert "give at least one value" in problems[2]
    assert parse_values("1-100", BOUNDS["n_hidden"], "n")[1] == [
        f"n: the range '1-100' has 100 values (at most {MAX_RANGE})"]
    assert parse_values("off, 2-3", BOUNDS["lookup_bits"], "widest lookups") == ([None, 2, 3], [])
    assert parse_values("unbounded", BOUNDS["lookup_bits"], "widest lookups") == ([None], [])
    assert "can't read 'off'" in parse_values("off", BOUNDS["bits"], "bit-widths")[1][0]  # bits have no "off"
    assert values_text([None, 20]) == "off, 20" and parse_values(values_text([None, 20]),
                                                                 BOUNDS["pruning_budget"], "budgets")[0] == [None, 20]


def test_sweep_plan_skips_combinations_it_cannot_run():
    plan = SweepPlan(small_config(epochs=1).replace(data={"n_points": 1600, "n_test": 200}),
                     neurons=[6, 8], bits=[3], budgets=[None, 4, 7], seeds=[0])
    configs, skipped = plan.configs()
    assert len(configs) == 5 and len(skipped) == 1 and "more than the 6 inputs" in skipped[0]
    assert [c.kind for c in configs] == [ModelKind.QAT] * 5 and {c.pruning_budget for c in configs} == {None, 4, 7}


def test_report_holds_every_selected_run(record, tmp_path):
    other = RunRecord.from_json({**record.to_json(), "id": "second", "label": "second run"})
    path = write_html_report(tmp_path / "report.html", [record, other])
    text = path.read_text()
    assert text.count('href="data:image/png;base64,') == 2 and "<svg" in text
    for run in (record, other):
        assert run.label in text
        assert fmt_percent(run.metrics.fhe_simulated_accuracy) in text
    assert "http" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    data = json.loads(write_json_report(tmp_path / "report.json", [record, other]).read_text())
    assert [r["id"] for r in data["runs"]] == [record.id, "second"]


def test_png_encoder_writes_a_valid_header():
    data = png_bytes(np.zeros((3, 4, 3), dtype=np.uint8), scale=1)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == 4 and int.from_bytes(data[20:24], "big") == 3


def test_shipped_story_files_open_and_carry_their_figures():
    from qatstudio.services.experiment_file import load_experiment
    from qatstudio.services.paths import story_dir

    steps = json.loads((story_dir() / "story.json").read_text())["steps"]
    assert len(steps) == 5
    for step in steps:
        experiment = load_experiment(story_dir() / step["file"])
        assert experiment.boundary is not None and experiment.stats is not None
        assert fmt_percent(experiment.metrics.clear_accuracy) in step["measured"]
        assert f"accumulator {experiment.stats.accumulator_bits} bits" in step["measured"]
    assert load_experiment(story_dir() / steps[-1]["file"]).metrics.fhe_executed_samples > 0
    pruning = load_experiment(story_dir() / steps[2]["file"]).config  # written with the retired kind "pruned"
    assert (pruning.kind, pruning.pruning_budget) == (ModelKind.FLOAT, 10)


def test_a_table_run_reports_from_its_experiment_file_and_a_sweep_needs_its_rows(tmp_path):
    """A history record of a table run, in a new session: the report finds the rows in the run's
    file and draws the plane of its first two features with their names; a sweep plan on a table
    that isn't loaded says how to load it."""
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    tables = TableStore()
    tables.remember(imported)
    config = small_config(n_hidden=6, bits=2, epochs=1, data=imported.data_config())
    experiment = run_experiment(config, tables.dataset_for(config.data), compile=False)
    history = History(tmp_path / "history")
    kept = history.keep(RunRecord.from_experiment(experiment), experiment, tables)
    tables = TableStore()  # a new session's
    plan, problems = parse_plan(config, SweepRanges("6", "2", "off", "0"), tables)
    assert plan is None and problems == ["the rows of machines.csv are not loaded: open its experiment file, "
                                         "or import machines.csv again"]
    [record], _ = History(tmp_path / "history").load()
    text = write_html_report(tmp_path / "report.html", [record], tables=tables).read_text()
    assert "temperature_c</text>" in text and "vibration_mm_s</text>" in text
    assert text.count('r="2.6"') == len(tables.dataset_for(config.data).y_test)  # the test points
    assert parse_plan(config, SweepRanges("6", "2", "off", "0"), tables)[1] == []  # the report loaded the rows
    assert kept.experiment_path
