"""What the window can do when: its states, the kinds of work it runs, and one table from
(state, facts) to the controls that are enabled. Pure: no widgets, no Qt."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class TaskKind(enum.Enum):
    """The work the window runs; the value is the task's title (``taskFinished`` carries it)."""

    TRAIN = "Training"
    COMPILE = "Compiling"
    KEYGEN = "Generating keys"
    SIMULATE = "FHE simulation"
    ENCRYPTED = "Encrypted run"
    DEPLOY = "Deployment"
    EXPORT = "Exporting"
    OPEN = "Opening"
    IMPORT = "Importing data"
    CALIBRATE = "Timing lookups"

    @property
    def title(self) -> str:
        return self.value


class State(enum.Enum):
    IDLE = enum.auto()
    TRAINING = enum.auto()
    COMPILING = enum.auto()
    GENERATING_KEYS = enum.auto()
    SIMULATING = enum.auto()
    RUNNING_ENCRYPTED = enum.auto()
    DEPLOYING = enum.auto()
    EXPORTING = enum.auto()
    OPENING = enum.auto()
    IMPORTING = enum.auto()
    CALIBRATING = enum.auto()
    OTHER_WORK = enum.auto()  # the shared runner runs work started elsewhere (a sweep)
    CLOSING = enum.auto()  # the window closes once its work has stopped

    @staticmethod
    def running(kind: TaskKind) -> "State":
        return _RUNNING[kind]


_RUNNING = {
    TaskKind.TRAIN: State.TRAINING,
    TaskKind.COMPILE: State.COMPILING,
    TaskKind.KEYGEN: State.GENERATING_KEYS,
    TaskKind.SIMULATE: State.SIMULATING,
    TaskKind.ENCRYPTED: State.RUNNING_ENCRYPTED,
    TaskKind.DEPLOY: State.DEPLOYING,
    TaskKind.EXPORT: State.EXPORTING,
    TaskKind.OPEN: State.OPENING,
    TaskKind.IMPORT: State.IMPORTING,
    TaskKind.CALIBRATE: State.CALIBRATING,
}


@dataclass(frozen=True)
class Facts:
    """What the session holds, as far as enabling goes."""

    has_experiment: bool = False
    has_integer_model: bool = False  # trained (or opened) far enough to compile
    compiled: bool = False
    config_problems: bool = False  # the configuration shown can't be trained
    server_running: bool = False  # the local deployment server


@dataclass(frozen=True)
class Enabled:
    """Which controls are enabled; panels and actions apply it as it comes."""

    train: bool = False
    pause: bool = False
    stop: bool = False  # Stop (action): whatever the window runs
    stop_training: bool = False  # the Configure dock's Stop button: training, or an import
    edit_config: bool = False  # the Configure panel and the presets
    compile: bool = False
    keygen: bool = False
    simulate: bool = False
    encrypted: bool = False
    cancel_compile: bool = False  # the Compile panel's Cancel
    cancel_results: bool = False  # the Results panel's Cancel
    deploy: bool = False
    cancel_deploy: bool = False
    stop_server: bool = False
    calibrate: bool = False  # time this machine's lookups (the cost estimate's latency and keys)
    cancel_calibration: bool = False
    export_deployment: bool = False
    open: bool = False
    import_data: bool = False
    save: bool = False
    choose_plane: bool = False  # the boundary plot's choice of two features (the live boundary is the job's)
    busy: bool = False
    busy_bar: bool = False  # the status bar's animated bar: not while training, whose own bar moves


def enabled(state: State, facts: Facts) -> Enabled:
    """The one rule of what is enabled when."""
    idle = state is State.IDLE
    training = state is State.TRAINING
    closing = state is State.CLOSING
    return Enabled(
        train=idle and not facts.config_problems,
        pause=training,
        stop=not idle and not closing,
        stop_training=training or state is State.IMPORTING,
        edit_config=not training and not closing,
        compile=idle and facts.has_integer_model,
        keygen=idle and facts.compiled,
        simulate=idle and facts.compiled,
        encrypted=idle and facts.compiled,
        cancel_compile=state in (State.COMPILING, State.GENERATING_KEYS),
        cancel_results=state in (State.SIMULATING, State.RUNNING_ENCRYPTED),
        deploy=idle and facts.compiled,
        cancel_deploy=state is State.DEPLOYING,
        stop_server=idle and facts.server_running,
        calibrate=idle,
        cancel_calibration=state is State.CALIBRATING,
        export_deployment=idle and facts.has_integer_model,
        open=idle,
        import_data=idle,
        save=idle and facts.has_experiment,
        choose_plane=not training and not closing,
        busy=not idle,
        busy_bar=not idle and not training,
    )
