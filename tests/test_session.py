"""The window's session model (``services/session.py``), without Qt: its fields and their events."""
from __future__ import annotations

import pytest
from conftest import small_config

from qatstudio.engine.config import ConfigError
from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.history import Stage
from qatstudio.services.session import Event, Session


def listen(event: Event) -> list[tuple]:
    heard = []
    event.connect(lambda *values: heard.append(values))
    return heard


def test_an_event_calls_its_handlers_in_order_until_disconnected():
    event, calls = Event(), []
    first = lambda value: calls.append(("first", value))  # noqa: E731
    event.connect(first)
    event.connect(lambda value: calls.append(("second", value)))
    event.emit(1)
    event.disconnect(first)
    event.emit(2)
    assert calls == [("first", 1), ("second", 1), ("second", 2)]


def test_setting_the_configuration_tells_it_once():
    session = Session()
    heard = listen(session.config_changed)
    config = small_config(n_hidden=7)
    session.set_config(config)
    assert heard == [(config,)] and session.config == config
    session.set_config(config.replace())  # set again: told again (a panel showing a draft shows it)
    assert heard == [(config,), (config,)]


def test_an_invalid_configuration_is_refused_and_changes_nothing():
    session = Session(small_config())
    heard = listen(session.config_changed)
    invalid = small_config(bits=99)
    assert invalid.problems()
    with pytest.raises(ConfigError) as refused:
        session.set_config(invalid)
    assert refused.value.reasons == invalid.problems()
    assert session.config == small_config() and heard == []


def test_a_run_goes_through_its_stages_and_the_title_follows(small_dataset, tmp_path):
    session = Session()
    stages, titles, runs = listen(session.stage_changed), listen(session.title_changed), listen(session.run_changed)
    assert session.title() == ("untitled", False) and session.run.experiment is None
    experiment = run_experiment(small_config(epochs=1), small_dataset, compile=False)
    session.trained(experiment, small_dataset, None)
    assert session.stage is Stage.TRAINED and session.run.experiment is experiment and len(runs) == 1
    assert titles[-1] == ("untitled", True)
    session.saved(tmp_path / "run.qats")
    assert titles[-1] == ("run.qats", False) and not session.dirty
    session.simulated(experiment.metrics, None, None)
    assert stages == [(experiment, Stage.TRAINED), (experiment, Stage.SIMULATED)]
    assert titles[-1] == ("run.qats", True) and session.stage is Stage.SIMULATED
    session.clear()
    assert session.run.experiment is None and session.stage is None and session.path is None
    assert titles[-1] == ("untitled", False) and len(runs) == 2 and len(stages) == 2  # no stage for no run


def test_each_session_keeps_its_own_tables(tmp_path):
    from qatstudio.services.paths import resources_dir
    from qatstudio.services.tabular import read_table

    imported = read_table(resources_dir() / "examples" / "machines.csv", "fault")
    one, other = Session(), Session()
    one.tables.remember(imported)
    assert len(one.tables) == 1 and len(other.tables) == 0
