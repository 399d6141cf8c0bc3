"""Config sources, their precedence, and one clear line per problem."""

from pathlib import Path

import pytest

from ganaug_cli.config import GanConfig, RbmConfig, resolve_config
from ganaug_cli.config.describe import describe
from ganaug_cli.errors import ConfigError
from ganaug_cli.families import FAMILIES

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_file_in_configs_validates(path):
    family = path.stem if path.stem in FAMILIES else "gan"
    resolve_config(FAMILIES[family].config, file=path)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_config_files_show_the_schema_defaults(family):
    assert (CONFIGS / f"{family}.yaml").read_text() == describe(FAMILIES[family].config, family)


def test_precedence_defaults_then_file_then_flags_then_set(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("train:\n  steps: 11\n  batch_size: 12\n  lr_g: 0.5\n")
    config = resolve_config(
        GanConfig,
        file=file,
        flags={"train.steps": ("--steps", 21), "train.batch_size": ("--batch", 22)},
        sets=["train.batch_size=33"],
    )
    assert config.train.lr_g == 0.5  # file over default
    assert config.train.steps == 21  # flag over file
    assert config.train.batch_size == 33  # --set over flag
    assert config.train.lr_d == GanConfig().train.lr_d  # untouched default


def test_set_values_are_parsed_as_yaml():
    config = resolve_config(GanConfig, sets=["augment.policy=[color]", "model.conditional=false", "data.background=black"])
    assert config.augment.policy == ["color"] and config.model.conditional is False
    assert config.data.background == (0, 0, 0)


def problems(**sources):
    with pytest.raises(ConfigError) as info:
        resolve_config(GanConfig, **sources)
    return info.value.problems


def test_a_bad_value_in_a_file_names_the_file_and_key(tmp_path):
    file = tmp_path / "gan.yaml"
    file.write_text("train:\n  lr_g: 0\n")
    assert problems(file=file) == [f"{file}: train.lr_g: Input should be greater than 0"]


def test_a_bad_set_names_the_set_and_a_bad_flag_names_the_flag():
    assert problems(sets=["train.lr_g=-1"]) == ["--set train.lr_g: Input should be greater than 0"]
    assert problems(flags={"train.steps": ("--steps", 0)}) == ["--steps: Input should be greater than 0"]


def test_unknown_keys_and_wrong_types_are_each_one_line(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("train:\n  stepz: 3\n  batch_size: many\nextra: 1\n")
    lines = problems(file=file)
    assert len(lines) == 3
    assert any(line.startswith(f"{file}: train.stepz: unknown key (known: steps,") for line in lines)
    assert f"{file}: train.batch_size: Input should be a valid integer, unable to parse string as an integer" in lines
    assert any(line.startswith(f"{file}: extra: unknown key") for line in lines)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    file = tmp_path / "broken.yaml"
    file.write_text("train:\n  steps: 3\n  lr_g: [1, 2\n")
    (line,) = problems(file=file)
    assert line.startswith(f"{file}:4: malformed YAML")


def test_a_missing_config_file_and_a_malformed_set_are_clear():
    assert problems(file=Path("nope.yaml")) == ["nope.yaml: config file not found"]
    assert problems(sets=["train.steps"]) == ["--set train.steps: expected section.key=value"]


def test_a_value_that_fits_no_member_of_a_union_is_one_line():
    with pytest.raises(ConfigError) as info:
        resolve_config(RbmConfig, sets=["eval.ais_every=x", "train.lr=fast"])
    assert info.value.problems == [
        "--set train.lr: Input should be a valid number or 'auto'",
        "--set eval.ais_every: Input should be a valid integer or 'auto'",
    ]


def test_the_gan_refuses_resolutions_it_cannot_build():
    assert problems(sets=["data.resolution=48"]) == [
        "--set data.resolution: the GAN supports auto or 16, 32, 64, 128, 256"
    ]


def test_cli_config_errors_exit_1_with_one_line_each(cli, two_class_folder, tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("train:\n  lr_d: -2\n")
    code, out, err = cli("train-gan", "--data", two_class_folder, "--config", file, "--steps", "0", "--set", "model.width=0")
    assert code == 1 and out == ""
    assert sorted(err.splitlines()) == [
        "error: --set model.width: Input should be greater than 0",
        "error: --steps: Input should be greater than 0",
        f"error: {file}: train.lr_d: Input should be greater than 0",
    ]
