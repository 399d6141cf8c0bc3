"""The command line's contract: subcommands, help, versions, exit codes, streams."""

import pytest

from conftest import TINY_GAN

from ganaug_cli import __version__


def test_help_lists_the_subcommands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for command in ("train-gan", "train-rbm", "train-dbn", "sample"):
        assert command in out


def test_version(cli):
    assert cli("--version")[:2] == (0, f"ganaug {__version__}\n")


@pytest.mark.parametrize("command", ["train-gan", "train-rbm", "train-dbn"])
def test_each_train_command_shows_an_example_and_the_schema_defaults(cli, command):
    code, out, _ = cli(command, "--help")
    assert code == 0
    assert f"ganaug {command} --data" in out
    assert "(default:" in out


def test_usage_errors_exit_2(cli):
    assert cli("train-gan", "--no-such-flag")[0] == 2
    assert cli("train-gan", "--steps")[0] == 2
    assert cli("no-such-command")[0] == 2


def test_a_missing_data_folder_is_one_line_and_exit_1(cli, tmp_path):
    code, out, err = cli("train-gan", "--data", tmp_path / "nope")
    assert (code, out) == (1, "")
    assert err == f"error: {tmp_path / 'nope'}: no such folder\n"


def test_no_data_folder_at_all_is_explained(cli):
    code, _, err = cli("train-rbm")
    assert code == 1 and "no data folder given (use --data DIR" in err


def test_quiet_silences_warnings(cli, two_class_folder):
    (two_class_folder / "cat" / "empty.png").write_bytes(b"")
    _, _, loud = cli("train-gan", "--data", two_class_folder, "--steps", "1", "--set", "train.device=cpu")
    _, _, quiet = cli("train-gan", "--data", two_class_folder, "--steps", "1", "--quiet", "--set", "train.device=cpu")
    assert "empty.png" in loud and "empty.png" not in quiet


def test_the_app_imported_from_the_package_is_whole_and_runs_under_typers_cli_runner(two_class_folder, tmp_path):
    from typer.testing import CliRunner

    from ganaug_cli.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["--help"])
    assert listed.exit_code == 0
    for command in ("train-gan", "train-rbm", "train-dbn", "sample", "runs", "eval", "augment"):
        assert command in listed.output
    trained = runner.invoke(app, ["train-gan", "--data", str(two_class_folder), "--out", str(tmp_path / "run"),
                                  "--steps", "1", "--quiet", *TINY_GAN])
    assert trained.exit_code == 0 and trained.stdout.strip() == str(tmp_path / "run")
    assert runner.invoke(app, ["runs", "--json"]).exit_code == 0
