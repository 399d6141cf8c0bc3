"""augment --unlabeled: unlabelled images given a class by a classifier on the real folder,
added only when the held-out check shows that they help, marked in the manifest."""

import json

import pytest
import torch

from conftest import folder_checksums, make_class_folder, save_gray
from ganaug_cli.data import load_image_folder
from ganaug_cli.config import DataConfig
from ganaug_cli.workflows import pseudo_labels
from ganaug_cli.workflows.pseudo_labels import PseudoLabelPlan, add_pseudo_labels
from ganaug_cli.workflows.share_check import ShareCheck, ShareChoice

SMALL_JUDGE = {"width": 8, "min_steps": 30, "epochs": 2}


def dark_and_light_unlabelled(root, per_tone: int = 6):
    """Unlabelled images of both tones, some in subfolders (which are not classes), and a broken file."""
    for i in range(per_tone):
        save_gray(root / f"d{i}.png", value=40 + i, size=16)
        save_gray(root / "shop" / f"l{i}.png", value=200 + i, size=16)
    (root / "broken.png").write_bytes(b"not an image")
    return root


def test_confident_images_go_to_their_class_with_their_confidence_and_the_folder_is_untouched(tmp_path, monkeypatch):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=8, size=16)
    unlabelled = dark_and_light_unlabelled(tmp_path / "unlabelled")
    before = folder_checksums(unlabelled)
    real = load_image_folder(DataConfig(path=data))
    held = {"dark/0.png", "light/0.png"}
    chosen = {}

    def accept(real_images, real_labels, candidates, labels, num_classes, **options):
        chosen.update(candidates=len(candidates), split=options["split"])
        return ShareChoice(0.5, "accepted for the test")

    monkeypatch.setattr(pseudo_labels, "choose_share", accept)
    check = ShareCheck([0.2], seeds=1, held_out=0.3, min_class_images=2, judge=SMALL_JUDGE)
    out = tmp_path / "out"
    result, records = add_pseudo_labels(real, held, PseudoLabelPlan(unlabelled, 0.6, [0.5]), check, out, tmp_path / "cache")
    assert result.unlabelled == 12  # the broken file is skipped
    assert chosen["split"][1].tolist() == [real.files.index(name) for name in sorted(held)]
    # Share 0.5 of a class of 8 real images is 8 more; each tone has 6, all confidently classed.
    assert result.added == {"dark": 6, "light": 6} and len(records) == 12
    for record in records:
        assert record["pseudo_label"] and not record["synthetic"] and 0.6 <= record["confidence"] <= 1
        tone = "light" if "/shop/" in record["source"] else "dark"
        assert record["class"] == tone and record["file"].startswith(f"{tone}/ganaug-pseudo-")
        assert (out / record["file"]).read_bytes() == open(record["source"], "rb").read()  # copied unchanged
    assert folder_checksums(unlabelled) == before


@pytest.mark.parametrize("teacher", ["labelled", "spread"])
def test_the_teacher_never_sees_the_held_out_images(tmp_path, monkeypatch, teacher):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=6, size=16)
    unlabelled = dark_and_light_unlabelled(tmp_path / "unlabelled", per_tone=2)
    real = load_image_folder(DataConfig(path=data))
    held = {"dark/0.png", "light/1.png"}
    seen = {}
    original = pseudo_labels.domain_classifier

    def spy(images, labels, class_names, cache_dir):
        seen.update(images=images, labels=labels)
        return original(images, labels, class_names, cache_dir)

    monkeypatch.setattr(pseudo_labels, "domain_classifier", spy)
    check = ShareCheck([0.2], seeds=1, held_out=0.3, min_class_images=2, judge=SMALL_JUDGE)
    add_pseudo_labels(real, held, PseudoLabelPlan(unlabelled, 0.99, [0.5], teacher=teacher), check,
                      tmp_path / "out", tmp_path / "cache")
    kept = real.without(held)
    assert torch.equal(seen["images"][:10], kept.images)
    if teacher == "labelled":
        assert len(seen["images"]) == 10
    else:  # and the surest spread label of each class: half the 4 unlabelled images, each in its tone's class
        extra, classes = seen["images"][10:].float().mean(dim=(1, 2, 3)), seen["labels"][10:]
        assert len(extra) == 2 and classes.tolist() == [real.class_names.index(n) for n in ("dark", "light")]
        assert extra[0] < 128 < extra[1]


def test_augment_pseudo_labels_alone_reports_the_check_and_adds_only_what_helped(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=10, size=16)
    unlabelled = dark_and_light_unlabelled(tmp_path / "unlabelled")
    out = tmp_path / "augmented"
    code, stdout, err = cli("augment", "--data", data, "--out", out, "--no-synthetic", "--unlabeled", unlabelled,
                            "--check-seeds", "1", "--seed", "0")
    assert code == 0, err
    assert stdout.strip().splitlines()[-1] == str(out)
    assert "read as unlabelled" in err and "broken.png" in err
    report = json.loads((out / "augment-report.json").read_text())
    assert report["run"] is None and report["synthetic"] == {}
    pseudo = report["pseudo_labels"]
    assert pseudo["unlabelled_images"] == 12 and pseudo["share_check"]["trials"][0]["share"] == 0.0
    added = sum(pseudo["added"].values())
    # The tones are easy: the real images alone already classify the held-out ones, so nothing may be needed.
    if pseudo["share_check"]["chosen_share"] == 0:
        assert added == 0
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sum(bool(r.get("pseudo_label")) for r in manifest) == added == len(list(out.rglob("ganaug-pseudo-*")))
    assert len(manifest) == 20 + added


def test_bad_unlabelled_options_are_one_line_errors(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("dark", "light"), per_class=4, size=16)
    cases = [
        (["--no-synthetic"], "--no-synthetic: without --unlabeled there is nothing to add"),
        (["--no-synthetic", "--unlabeled", tmp_path, "--balance"], "--balance count synthetic images"),
        (["--pseudo-share", "0.5"], "--pseudo-share: applies only with --unlabeled"),
        (["--pseudo-confidence", "0.8"], "--pseudo-confidence: applies only with --unlabeled"),
        (["--unlabeled", tmp_path / "missing"], "missing: no such folder"),
        (["--unlabeled", tmp_path, "--pseudo-confidence", "2"], "--pseudo-confidence"),
        (["--pseudo-teacher", "spread"], "--pseudo-teacher: applies only with --unlabeled"),
        (["--unlabeled", tmp_path, "--pseudo-teacher", "best"], "--pseudo-teacher: Input should be 'spread' or"),
    ]
    for extra, message in cases:
        code, _, err = cli("augment", "--data", data, "--out", tmp_path / "out", *extra)
        assert code != 0 and message in err, (extra, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not (tmp_path / "out").exists()
