"""eval's metrics, the sample filters, and augment's new ImageFolder tree."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import folder_checksums, save_gray
from ganaug_cli.config import DataConfig
from ganaug_cli.data import load_image_folder
from ganaug_cli.errors import GanaugError
from ganaug_cli.workflows.evaluate import Synthetic, evaluate
from ganaug_cli.metrics.sample_quality import CopyDetector, sample_quality
from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.runs import read_run_config
from ganaug_cli.sampling import LoadedModel, SampleRequest, sample_images
from ganaug_cli.workflows.sample_filters import FilterStats, build_filter


@pytest.fixture(scope="module")
def folder_of_200(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-hundred")
    for i in range(200):
        save_gray(root / ("dark" if i % 2 else "light") / f"{i}.png", value=60 + (i % 2) * 120 + i % 7, size=16)
    return load_image_folder(DataConfig(path=root, cache=False))


def test_identical_sets_score_as_identical(folder_of_200, tmp_path):
    same = Synthetic(folder_of_200.images, folder_of_200.labels, "same")
    report = evaluate(folder_of_200, same, classifier_cache=tmp_path)
    assert report["fid"] < 1e-3
    assert abs(report["kid_mean"]) <= 0.01
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    assert report["class_fidelity"] > 0.9


def test_clearly_different_sets_score_worse(folder_of_200, tmp_path):
    noise = torch.randint(0, 256, folder_of_200.images.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    report = evaluate(folder_of_200, Synthetic(noise, None, "noise"), classifier_cache=tmp_path)
    same = evaluate(folder_of_200, Synthetic(folder_of_200.images, None, "same"), classifier_cache=tmp_path)
    assert report["fid"] > same["fid"] + 1e-2
    assert report["kid_mean"] > same["kid_mean"] + 1e-3
    assert report["precision"] < 0.5


def test_exact_copies_are_flagged_as_memorised():
    torch.manual_seed(0)
    train = torch.randn(300, 16)
    detector = CopyDetector(train)
    copies, fresh = train[:50], torch.randn(50, 16)
    assert bool(detector.flags(copies).all())
    assert float(detector.flags(fresh).float().mean()) < 0.2
    assert sample_quality(train, copies).copies == 1.0


class ScriptedModel(GenerativeModel):
    """Half of its samples show their class (dark = class 0, light = class 1), half the other."""

    family = "gan"

    def __init__(self):
        super().__init__(num_classes=2, channels=1, resolution=16)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def sample(self, n, labels, generator):
        swapped = torch.rand(n, generator=generator) < 0.5
        shown = torch.where(swapped, 1 - labels, labels).float()
        return (0.25 + 0.5 * shown).view(n, 1, 1, 1).expand(n, 1, 16, 16).clone()


@pytest.fixture
def scripted(tmp_path):
    data = tmp_path / "real"
    for i in range(20):
        save_gray(data / "a-dark" / f"{i}.png", value=64, size=16)
        save_gray(data / "b-light" / f"{i}.png", value=192, size=16)
    loaded = LoadedModel(ScriptedModel(), "gan", ["a-dark", "b-light"], 1, tmp_path / "run", tmp_path / "x.pt",
                         {"data": {"path": str(data)}}, 16, 1)
    return loaded, data


def test_the_confidence_filter_drops_samples_of_the_wrong_class_and_draws_more(scripted, tmp_path):
    loaded, _ = scripted
    stats = FilterStats()
    keep = build_filter(loaded, None, 0.9, False, stats)
    out = tmp_path / "out"
    paths = list(sample_images(loaded, out, SampleRequest(per_class=10, seed=1, batch_size=8), keep=keep))
    assert len(paths) == 20
    for path in paths:
        mean = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(path)).mean()
        assert (mean < 128) == (path.parent.name == "a-dark")
    assert 0.3 < stats.rejection_rate < 0.7


def test_a_filter_that_rejects_everything_stops_with_a_clear_message(scripted, tmp_path):
    loaded, _ = scripted
    keep = build_filter(loaded, None, 1.0, True, FilterStats())
    with pytest.raises(GanaugError, match="passed the filters"):
        list(sample_images(loaded, tmp_path / "out", SampleRequest(per_class=5, seed=1), keep=keep))


def test_allow_fewer_keeps_what_passed_with_a_warning(scripted, tmp_path, caplog):
    loaded, _ = scripted
    calls = iter(range(10**6))

    def every_third(arrays, class_index):  # a filter that passes a third of the draws
        return np.array([next(calls) % 3 == 0 for _ in arrays])

    request = SampleRequest(per_class=5, seed=1, batch_size=4, allow_fewer=True)
    with caplog.at_level("WARNING", logger="ganaug"):
        paths = list(sample_images(loaded, tmp_path / "out", request, keep=every_third))
    assert len(paths) == 10  # 20 draws per image is enough at a one-in-three pass rate
    keep_none = build_filter(loaded, None, 1.0, True, FilterStats())
    with caplog.at_level("WARNING", logger="ganaug"):
        assert list(sample_images(loaded, tmp_path / "none", request, keep=keep_none)) == []
    assert "only 0 of 5 samples passed the filters" in caplog.text
    manifest = (tmp_path / "none" / "manifest.jsonl")
    assert not manifest.exists() or manifest.read_text() == ""


def test_eval_cli_reports_the_metrics(cli, trained_runs):
    run = trained_runs["conditional"]
    data = read_run_config(run)["data"]["path"]
    code, out, err = cli("eval", "--run", run, "--data", data, "-n", "30", "--seed", "0", "--json")
    assert code == 0, err
    report = json.loads(out)
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "copies", "class_fidelity"):
        assert key in report
    assert set(report["class_fidelity_per_class"]) == {"boot", "coat", "shirt"}
    assert any((Path(run) / "eval").glob("domain-classifier-*.pt"))  # cached in the run folder


def test_eval_needs_exactly_one_source_and_inception_weights_on_disk(cli, trained_runs, tmp_path, monkeypatch):
    run = trained_runs["conditional"]
    data = read_run_config(run)["data"]["path"]
    assert cli("eval", "--data", data)[0] == 2
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code, _, err = cli("eval", "--run", run, "--data", data, "-n", "10", "--features", "inception")
    assert code == 1 and "needs torchvision's Inception-v3 weights at" in err
    assert err.count("\n") == 1  # said before any sampling or judge training
    code, _, err = cli("eval", "--run", run, "--data", data, "-n", "1", "--features", "fid")
    assert code == 1 and err.splitlines() == ["error: -n: Input should be greater than or equal to 2",
                                              "error: --features: Input should be 'domain' or 'inception'"]


def augment_run(cli, trained_runs, data, out, *extra):
    return cli("augment", "--data", data, "--out", out, "--run", trained_runs["conditional"], "--seed", "0", *extra)


def test_augment_copies_the_real_images_and_adds_synthetic_ones_with_a_manifest(cli, trained_runs, tmp_path):
    data = Path(read_run_config(trained_runs["conditional"])["data"]["path"])
    before = folder_checksums(data)
    out = tmp_path / "augmented"
    code, stdout, err = augment_run(cli, trained_runs, data, out, "--no-filter", "--ratio", "2")
    assert code == 0, err
    assert stdout.strip() == str(out)
    for name in ("boot", "coat", "shirt"):
        files = sorted(p.name for p in (out / name).iterdir())
        assert [f for f in files if not f.startswith("ganaug-")] == ["0.png", "1.png", "2.png"]
        assert len([f for f in files if f.startswith("ganaug-")]) == 6
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sum(not r["synthetic"] for r in records) == 9 and sum(r["synthetic"] for r in records) == 18
    assert folder_checksums(data) == before
    for record in records:  # the teacher's soft labels for a trainer that takes them; none for real images
        if record["synthetic"]:
            assert set(record["teacher"]) == {"boot", "coat", "shirt"}
            assert abs(sum(record["teacher"].values()) - 1) < 1e-2
            assert record["teacher_class"] == max(record["teacher"], key=record["teacher"].get)
        else:
            assert "teacher" not in record


def test_augment_balance_fills_every_class_to_the_largest(cli, trained_runs, tmp_path):
    data = tmp_path / "imbalanced"
    for name, count in (("boot", 5), ("coat", 3), ("shirt", 1)):
        for i in range(count):
            save_gray(data / name / f"{i}.png", value=50 + 10 * i)
    before = folder_checksums(data)
    out = tmp_path / "balanced"
    code, _, err = augment_run(cli, trained_runs, data, out, "--no-filter", "--balance", "--link")
    assert code == 0, err
    counts = {name: len(list((out / name).glob("*.png"))) for name in ("boot", "coat", "shirt")}
    assert counts == {"boot": 5, "coat": 5, "shirt": 5}
    assert folder_checksums(data) == before


def test_augment_puts_a_flat_folders_synthetic_images_at_its_top_beside_the_real_ones(cli, trained_runs, tmp_path):
    data = Path(read_run_config(trained_runs["unconditional"])["data"]["path"])
    out = tmp_path / "augmented"
    code, _, err = cli("augment", "--data", data, "--out", out, "--run", trained_runs["unconditional"], "--seed", "0",
                       "--no-filter", "--ratio", "1")
    assert code == 0, err
    assert len(list(out.glob("ganaug-*.png"))) == 4 and not [p for p in out.iterdir() if p.is_dir()]


def test_augment_refuses_a_non_empty_out_before_any_work(cli, trained_runs, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = cli("augment", "--data", tmp_path, "--out", out, "--steps", "1")
    assert code == 1 and "not empty" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("name", ["shift", "classical"])
def test_classifier_augmentations_keep_shape_and_range(name):
    from ganaug_cli.metrics.classical_transforms import AUGMENTATIONS

    images = torch.rand(6, 3, 20, 20)
    out = AUGMENTATIONS[name](images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and float(out.min()) >= 0 and float(out.max()) <= 1


def test_a_classifier_trains_with_a_synthetic_share_of_each_batch(folder_of_200):
    from ganaug_cli.metrics.classifier import predict, train_classifier

    half = len(folder_of_200.images) // 2
    model = train_classifier(folder_of_200.images[:half], folder_of_200.labels[:half], 2, min_steps=30, epochs=1,
                             augment="classical", synthetic=(folder_of_200.images[half:], folder_of_200.labels[half:]),
                             synthetic_share=0.5)
    accuracy = (predict(model, folder_of_200.images).argmax(1) == folder_of_200.labels).float().mean()
    assert float(accuracy) > 0.9


def test_bad_augment_flags_are_one_line_each_and_exit_1(cli, tmp_path):
    code, out, err = cli("augment", "--data", tmp_path, "--out", tmp_path / "new", "--model", "vae", "--ratio", "-1")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: --model: Input should be 'gan', 'rbm', 'dbn' or 'dae'",
                                "error: --ratio: Input should be greater than 0"]


def test_augment_leaves_no_half_written_folder_when_the_filter_cannot_deliver(cli, trained_runs, tmp_path, monkeypatch):
    import ganaug_cli.workflows.augmented_folder

    def reject_all(*args, **kwargs):
        return lambda arrays, class_index: np.zeros(len(arrays), dtype=bool)

    monkeypatch.setattr(ganaug_cli.workflows.augmented_folder, "build_filter", reject_all)
    data = Path(read_run_config(trained_runs["conditional"])["data"]["path"])
    out = tmp_path / "augmented"
    code, stdout, err = augment_run(cli, trained_runs, data, out, "--ratio", "1")  # a count: no held-out check
    assert (code, stdout) == (1, "") and "passed the filters" in err
    assert not out.exists() and not list(tmp_path.glob(".augmented*"))
    code, stdout, err = augment_run(cli, trained_runs, data, out, "--ratio", "1", "--allow-fewer")
    assert code == 0, err
    assert "passed the filters" in err and stdout.strip() == str(out)
    assert not list(out.rglob("ganaug-*")) and len(list(out.rglob("*.png"))) > 0


def test_near_duplicates_of_a_kept_sample_of_the_same_class_are_caught():
    from ganaug_cli.metrics.sample_quality import DuplicateDetector

    detector = DuplicateDetector(torch.tensor(0.5))
    features = torch.tensor([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0], [3.0, 0.2], [9.0, 9.0]])
    everyone = torch.ones(5, dtype=torch.bool)
    assert detector.flags(features[:4], 0, everyone[:4]).tolist() == [False, True, False, True]
    assert detector.flags(features[:1], 1, everyone[:1]).tolist() == [False]  # each class keeps its own
    assert detector.flags(features[4:], 0, everyone[4:]).tolist() == [False]
    assert detector.flags(features[1:2], 0, everyone[1:2]).tolist() == [True]  # repeats of earlier batches too
    assert detector.flags(features[1:3], 2, torch.tensor([False, True])).tolist() == [False, False]


def test_a_generator_that_repeats_one_image_per_class_keeps_it_once(scripted, tmp_path, caplog):
    loaded, _ = scripted  # two images per class, its own gray and the other class's
    stats = FilterStats()
    keep = build_filter(loaded, None, None, False, stats, reject_duplicates=True)
    request = SampleRequest(per_class=4, seed=1, batch_size=8, allow_fewer=True)
    with caplog.at_level("WARNING", logger="ganaug"):
        paths = list(sample_images(loaded, tmp_path / "out", request, keep=keep))
    assert 1 <= len(list((tmp_path / "out" / "a-dark").glob("*.png"))) <= 2
    assert len(paths) <= 4 and stats.rejected_duplicate > 0
