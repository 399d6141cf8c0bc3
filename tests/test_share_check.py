"""augment's held-out check: synthetic images are added only when they measurably help."""

import json
from pathlib import Path

import torch

from conftest import TINY_GAN, make_class_folder, train_tiny_gan
from ganaug_cli.workflows.share_check import (ShareTrial, choose_share, first_per_class, helped, synthetic_per_class,
                                              winner)

SMALL_JUDGE = {"width": 8, "min_steps": 30, "epochs": 2}


def dark_and_light(per_class: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(2).repeat_interleave(per_class)
    base = torch.where(labels == 0, 60.0, 190.0).view(-1, 1, 1, 1)
    images = (base + 20 * torch.randn(len(labels), 1, 8, 8, generator=generator)).clamp(0, 255)
    return images.to(torch.uint8), labels


def test_a_share_is_chosen_only_when_it_wins_on_every_split_by_more_than_the_noise():
    baseline = ShareTrial(0.0, [0.80, 0.81, 0.80])
    assert helped(ShareTrial(0.2, [0.90, 0.92, 0.91]), baseline)
    assert not helped(ShareTrial(0.2, [0.70, 0.95, 0.90]), baseline)  # better on average, worse on one split
    assert not helped(ShareTrial(0.2, [0.81, 0.90, 0.81]), baseline)  # better on each, within two standard errors
    assert not helped(ShareTrial(0.2, [0.80, 0.81, 0.80]), baseline)


def scored(rights: list[list[int]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per seed: the same held-out images 0..n-1 and which were right."""
    return [(torch.arange(len(r)), torch.tensor(r, dtype=torch.bool)) for r in rights]


def test_a_gain_on_a_handful_of_held_out_images_is_not_enough():
    # Every seed gains one image of ten: steady over the seeds, but a single image's luck.
    base = [[1, 1, 1, 1, 1, 1, 1, 0, 0, 0]] * 3
    better = [[1, 1, 1, 1, 1, 1, 1, 1, 0, 0]] * 3
    baseline, trial = ShareTrial(0.0, [0.70, 0.70, 0.70], scored(base)), ShareTrial(0.2, [0.80, 0.80, 0.80], scored(better))
    trial.accuracies = [0.80, 0.81, 0.80]  # seeds differ a little, so the seed-level test alone would pass
    assert helped(ShareTrial(0.2, trial.accuracies), ShareTrial(0.0, baseline.accuracies))
    assert not helped(trial, baseline)
    many_base, many_better = [[1] * 50 + [0] * 50] * 3, [[1] * 80 + [0] * 20] * 3
    assert helped(ShareTrial(0.2, [0.80, 0.81, 0.80], scored(many_better)), ShareTrial(0.0, [0.5] * 3, scored(many_base)))


def test_of_the_shares_that_helped_the_best_scoring_or_the_largest_is_chosen():
    baseline = ShareTrial(0.0, [0.70, 0.71, 0.70])
    small, middle = ShareTrial(0.5, [0.85, 0.86, 0.85]), ShareTrial(0.9, [0.80, 0.81, 0.80])
    unsteady = ShareTrial(0.98, [0.60, 0.95, 0.90])  # the largest, but worse on one split: it did not help
    assert winner(baseline, [small, middle, unsteady]) is small
    assert winner(baseline, [small, middle, unsteady], largest=True) is middle
    assert winner(baseline, [unsteady], largest=True) is None


def test_the_check_picks_share_0_when_the_synthetic_images_are_noise():
    generator = torch.Generator().manual_seed(0)
    real, labels = dark_and_light(12, generator)
    noise = torch.randint(0, 256, (24, 1, 8, 8), generator=generator, dtype=torch.uint8)
    wrong = 1 - torch.arange(2).repeat_interleave(12)  # and labelled as the other class
    choice = choose_share(real, labels, noise, wrong, 2, shares=[0.3, 0.5], seeds=2, held_out=0.3, judge=SMALL_JUDGE)
    assert choice.share == 0.0 and "no share beat real images alone" in choice.reason
    assert [t.share for t in choice.trials] == [0.0, 0.3, 0.5] and all(len(t.accuracies) == 2 for t in choice.trials)
    assert choice.held_out_images + choice.train_real_images == 24


def test_a_share_counts_files_of_the_folder_and_the_first_candidates_of_each_class_are_used():
    assert [synthetic_per_class(10, s) for s in (0, 0.1, 0.2, 0.5)] == [0, 1, 2, 10]
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    assert first_per_class(labels, [2, 1]).tolist() == [0, 1, 2]


def test_augment_writes_no_synthetic_file_when_the_check_finds_no_help_and_says_so(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=10, size=16)
    run = train_tiny_gan(data, tmp_path / "run")  # two steps: its samples are noise
    out = tmp_path / "augmented"
    code, stdout, err = cli("augment", "--data", data, "--out", out, "--run", run, "--no-filter", "--seed", "0",
                            "--check-share", "0.5", "--check-seeds", "1")
    assert code == 0, err
    assert stdout.strip().splitlines()[-1] == str(out) and not list(out.rglob("ganaug-*"))
    assert "wrote no synthetic images: they did not help" in err
    report = json.loads((out / "augment-report.json").read_text())
    check = report["share_check"]
    assert check["chosen_share"] == 0 and [t["share"] for t in check["trials"]] == [0.0, 0.5]
    assert report["real"] == {"dark": 10, "light": 10} and report["synthetic"] == {}
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 20 and not any(r["synthetic"] for r in manifest)


def test_augment_trains_its_generator_without_the_images_the_check_scores_on(cli, tmp_path):
    from ganaug_cli.runs import read_run_config

    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=10, size=16)
    out = tmp_path / "augmented"
    code, _, err = cli("augment", "--data", data, "--out", out, "--steps", "2", "--seed", "0", "--no-filter",
                       "--check-share", "0.5", "--check-seeds", "1", *TINY_GAN)
    assert code == 0, err
    report = json.loads((out / "augment-report.json").read_text())
    held = read_run_config(Path(report["run"]))["data"]["exclude"]
    assert len(held) == 6 and {name.split("/")[0] for name in held} == {"dark", "light"}  # 30% of each class
    check = report["share_check"]
    assert check["held_out_unseen_by_generator"] and check["held_out_images"] == 6 and check["train_real_images"] == 14
    assert "learned from every image" not in err
    assert len(list(out.rglob("*.png"))) >= 20  # every real image is in the folder, held-out ones included


def test_a_run_that_saw_every_image_gets_a_warning_and_fresh_splits(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=10, size=16)
    run = train_tiny_gan(data, tmp_path / "run")
    code, _, err = cli("augment", "--data", data, "--out", tmp_path / "augmented", "--run", run, "--no-filter",
                       "--check-share", "0.5", "--check-seeds", "1")
    assert code == 0 and "learned from every image" in err
    report = json.loads((tmp_path / "augmented" / "augment-report.json").read_text())
    assert report["share_check"]["held_out_unseen_by_generator"] is False


def test_data_exclude_leaves_files_out_of_training(tmp_path):
    from ganaug_cli.config import DataConfig
    from ganaug_cli.data import load_image_folder

    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=4, size=16)
    folder = load_image_folder(DataConfig(path=data, exclude=["dark/0.png", "light/3.png"], cache=False))
    assert len(folder.files) == 6 and "dark/0.png" not in folder.files and folder.class_counts() == [3, 3]
    assert folder.without({"dark/1.png"}).class_counts() == [2, 3]


def test_a_class_too_small_to_hold_out_from_gets_a_clear_message_and_no_synthetic_images(cli, trained_runs, tmp_path):
    from ganaug_cli.runs import read_run_config

    data = read_run_config(trained_runs["conditional"])["data"]["path"]  # 3 images per class
    out = tmp_path / "augmented"
    code, _, err = cli("augment", "--data", data, "--out", out, "--run", trained_runs["conditional"], "--no-filter")
    assert code == 0, err
    assert "has 3 real images, fewer than the 5 the held-out check needs" in err
    assert not list(out.rglob("ganaug-*"))
    assert "fewer than the 5" in json.loads((out / "augment-report.json").read_text())["note"]
    code, _, err = cli("augment", "--data", data, "--out", tmp_path / "counted", "--run", trained_runs["conditional"],
                       "--no-filter", "--ratio", "1")
    assert code == 0 and len(list((tmp_path / "counted").rglob("ganaug-*"))) == 9  # an explicit count is kept


def test_bad_check_flags_are_one_line_each(cli, tmp_path):
    code, out, err = cli("augment", "--data", tmp_path, "--out", tmp_path / "new", "--check-share", "0",
                         "--check-seeds", "0")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: --check-share: Input should be greater than 0",
                                "error: --check-seeds: Input should be greater than 0"]
