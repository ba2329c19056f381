"""`qatstudio FILE.qats` beside the subcommands, and what the app logs when something fails."""
import logging

import pytest

from qatstudio.cli import build_parser, parse_command_line
from qatstudio.engine.config import ExperimentConfig, ModelKind
from qatstudio.services.experiment_file import ExperimentFileError
from qatstudio.services.logs import log, log_failure, log_file, setup_logging


@pytest.mark.parametrize("argv, command, file, demo", [
    ([], None, None, False),
    (["--demo"], None, None, True),
    (["run.qats"], None, "run.qats", False),
    (["--demo", "run.qats"], None, "run.qats", True),
    (["run.qats", "--demo"], None, "run.qats", True),
    (["train", "--epochs", "2"], "train", None, False),
    (["sweep", "--report", "out.html"], "sweep", None, False),
])
def test_a_file_opens_the_window_and_commands_still_run(argv, command, file, demo):
    args = parse_command_line(argv)
    assert args.command == command and args.demo == demo
    assert (str(args.file) if args.file else None) == file


def test_every_command_is_recognised_and_extra_words_are_refused(capsys):
    for command in build_parser().get_default("commands"):  # each prints its own help, not the window's
        with pytest.raises(SystemExit) as exit_:
            parse_command_line([command, "--help"])
        assert exit_.value.code == 0 and f"] {command}" in capsys.readouterr().out.splitlines()[0]
    assert parse_command_line(["reproduce"]).command == "reproduce"
    with pytest.raises(SystemExit) as exit_:
        parse_command_line(["one.qats", "two.qats"])
    assert exit_.value.code == 2 and "two.qats" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_command_line(["--help"])
    assert "FILE.qats" in capsys.readouterr().out


def test_kind_takes_a_model_kinds_word_and_pruned_says_what_to_write_instead(capsys):
    assert parse_command_line(["train", "--kind", "float"]).kind is ModelKind.FLOAT
    assert parse_command_line(["train"]).kind is ExperimentConfig.default_recipe().kind
    assert parse_command_line(["sweep", "--kind", "float"]).kind is ModelKind.FLOAT
    with pytest.raises(SystemExit):
        parse_command_line(["train", "--help"])
    assert "--kind {float,qat}" in capsys.readouterr().out
    for command, budget in (("train", "--budget N"), ("sweep", "--budgets N")):
        with pytest.raises(SystemExit) as exit_:
            parse_command_line([command, "--kind", "pruned"])
        assert exit_.value.code == 2
        assert f"'pruned' is no longer a kind: a pruned model is --kind float with {budget}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        parse_command_line(["train", "--kind", "mlp"])
    assert exit_.value.code == 2 and "unknown model kind 'mlp': choose one of float, qat" in capsys.readouterr().err


def test_an_expected_error_is_one_line_and_no_log_file(caplog):
    caplog.set_level(logging.WARNING, logger="qatstudio")
    error = ExperimentFileError("can't open run.qats: the file is damaged\n(bad zip)")
    assert log_failure("Opening failed", error) is None
    assert [r.getMessage() for r in caplog.records] == ["Opening failed: can't open run.qats: the file is damaged (bad zip)"]
    assert not log_file().exists()


def test_an_unexpected_error_keeps_its_traceback_in_the_users_log_file(caplog, private_home):
    caplog.set_level(logging.WARNING, logger="qatstudio")
    for attempt in range(2):
        try:
            {}["missing"]
        except KeyError as error:
            path = log_failure("Training failed", error)
    assert path == log_file() and str(path).startswith(str(private_home))
    assert (path.stat().st_mode & 0o777) == 0o600
    text = path.read_text(encoding="utf-8")
    assert text.count("Traceback (most recent call last)") == 2 and "KeyError: 'missing'" in text
    assert all("Traceback" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)


def test_messages_go_to_stderr_as_it_is_when_they_come(monkeypatch):
    """Not to the stream stderr was at set-up: a test's capture or a redirect closes that one."""
    import io

    first = io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    setup_logging()
    first.close()
    now = io.StringIO()
    monkeypatch.setattr("sys.stderr", now)
    log.info("training %s", "cancelled")
    assert now.getvalue() == "qatstudio: training cancelled\n"
