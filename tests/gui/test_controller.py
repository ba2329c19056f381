"""The window's state table (``gui.state``): what is enabled in each state, without any widget."""
from __future__ import annotations

import dataclasses

import pytest

from qatstudio.gui.state import Enabled, Facts, State, TaskKind, enabled

NOTHING = Facts()
TRAINED = Facts(has_experiment=True, has_integer_model=True)
COMPILED = dataclasses.replace(TRAINED, compiled=True)
WORKING = [state for state in State if state not in (State.IDLE, State.CLOSING)]


def on(value: Enabled) -> set[str]:
    return {name for name, value in dataclasses.asdict(value).items() if value}


def test_idle_follows_the_session():
    assert on(enabled(State.IDLE, NOTHING)) == {"train", "edit_config", "open", "import_data", "choose_plane",
                                                "calibrate"}
    assert on(enabled(State.IDLE, TRAINED)) == {"train", "edit_config", "open", "import_data", "choose_plane",
                                                "calibrate", "save", "compile", "export_deployment"}
    assert on(enabled(State.IDLE, COMPILED)) == on(enabled(State.IDLE, TRAINED)) | {
        "keygen", "simulate", "encrypted", "deploy"}


def test_config_problems_block_training_only():
    blocked = enabled(State.IDLE, dataclasses.replace(COMPILED, config_problems=True))
    assert on(blocked) == on(enabled(State.IDLE, COMPILED)) - {"train"}


def test_the_server_can_be_stopped_when_idle_only():
    running = dataclasses.replace(COMPILED, server_running=True)
    assert enabled(State.IDLE, running).stop_server
    assert not enabled(State.DEPLOYING, running).stop_server
    assert not enabled(State.IDLE, COMPILED).stop_server


@pytest.mark.parametrize("state", WORKING)
def test_while_working_nothing_else_starts(state):
    value = enabled(state, dataclasses.replace(COMPILED, server_running=True))
    started = {"train", "compile", "keygen", "simulate", "encrypted", "deploy", "export_deployment", "open",
               "import_data", "save", "stop_server", "calibrate"}
    assert not on(value) & started
    assert value.busy and value.stop


def test_training_locks_the_configuration_and_offers_pause():
    value = enabled(State.TRAINING, COMPILED)
    assert value.pause and value.stop_training and not value.edit_config
    assert not value.choose_plane  # the live boundary is drawn by the training job, on its own plane
    other = enabled(State.COMPILING, COMPILED)
    assert not other.pause and not other.stop_training and other.edit_config and other.choose_plane
    # training moves its own bar: the status bar's animated one (80 repaints a second) stays hidden
    assert value.busy and not value.busy_bar and other.busy and other.busy_bar


def test_an_import_is_stopped_from_the_configure_dock():
    value = enabled(State.IMPORTING, COMPILED)
    assert value.stop_training and value.stop and not value.pause and value.edit_config


@pytest.mark.parametrize("state, cancel", [
    (State.COMPILING, "cancel_compile"), (State.GENERATING_KEYS, "cancel_compile"),
    (State.SIMULATING, "cancel_results"), (State.RUNNING_ENCRYPTED, "cancel_results"),
    (State.DEPLOYING, "cancel_deploy"), (State.CALIBRATING, "cancel_calibration"),
])
def test_each_panel_cancels_its_own_work(state, cancel):
    cancels = {"cancel_compile", "cancel_results", "cancel_deploy", "cancel_calibration"}
    assert on(enabled(state, COMPILED)) & cancels == {cancel}


def test_closing_disables_everything_but_says_busy():
    assert on(enabled(State.CLOSING, COMPILED)) == {"busy", "busy_bar"}


def test_every_task_kind_has_a_running_state_and_its_title():
    states = {State.running(kind) for kind in TaskKind}
    assert len(states) == len(TaskKind) and not states & {State.IDLE, State.OTHER_WORK, State.CLOSING}
    assert TaskKind.TRAIN.title == "Training" and TaskKind.SIMULATE.title == "FHE simulation"


def test_enabled_is_immutable():
    value = enabled(State.IDLE, NOTHING)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.train = False
