"""--init RUN: a GAN run that starts from another run's weights (fine-tuning, FreezeD)."""

import torch

from conftest import make_class_folder, train_tiny_gan
from ganaug_cli.config import GanConfig
from ganaug_cli.runs import checkpoints, load_checkpoint, read_run_config
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.gan import GanTrainer, class_dependent

TINY = {"data": {"resolution": 16}, "model": {"width": 8, "max_width": 16, "z_dim": 16}, "train": {"batch_size": 8}}


def last_state(run):
    return load_checkpoint(checkpoints(run)[-1])["trainer"]


def fresh_trainer(classes: list[str]) -> GanTrainer:
    torch.manual_seed(1)
    return GanTrainer(GanConfig(**TINY), DataInfo(1, 16, classes, [4] * len(classes)), torch.device("cpu"))


def test_init_keeps_every_weight_and_with_other_classes_starts_only_the_class_parts_afresh(tmp_path):
    run = train_tiny_gan(make_class_folder(tmp_path / "two", classes=("a", "b")), tmp_path / "run")
    state = last_state(run)
    same = fresh_trainer(["a", "b"])
    assert same.start_from(state, True, str(run)) == []
    for name, net in (("G", same.G), ("D", same.D), ("G_ema", same.G_ema)):
        for key, value in net.state_dict().items():
            assert torch.equal(value, state[name][key]), (name, key)

    other = fresh_trainer(["x", "y", "z"])
    untouched = {name: {k: v.clone() for k, v in net.state_dict().items()}
                 for name, net in (("G", other.G), ("D", other.D))}
    fresh = other.start_from(state, False, str(run))
    assert fresh and all(class_dependent(name.split(".", 1)[1]) for name in fresh)
    assert any("embed" in name for name in fresh) and any(name.startswith("D.embed") for name in fresh)
    for name, net in (("G", other.G), ("D", other.D)):
        for key, value in net.state_dict().items():
            expected = untouched[name][key] if class_dependent(key) else state[name][key]
            assert torch.equal(value, expected), (name, key)


def test_a_fine_tuned_run_records_its_start_and_its_frozen_layers_do_not_change(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("a", "b"))
    start = train_tiny_gan(data, tmp_path / "start")
    tuned = train_tiny_gan(data, tmp_path / "tuned", "--init", str(start), "--set", "train.freeze_d_blocks=2", steps=3)
    assert read_run_config(tuned)["train"]["init"] == str(start.resolve())
    before, after = last_state(start)["D"], last_state(tuned)["D"]
    frozen = [k for k in after if k.startswith(("from_image.", "blocks.0."))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen if "original" in k)
    assert not torch.equal(before["head.parametrizations.weight.original"], after["head.parametrizations.weight.original"])


def test_an_init_run_that_does_not_fit_is_a_one_line_error(cli, tmp_path):
    data = make_class_folder(tmp_path / "data", classes=("a", "b"))
    start = train_tiny_gan(data, tmp_path / "start")
    tiny = ["--device", "cpu", "--set", "model.width=8", "--set", "model.max_width=16", "--set", "model.z_dim=16",
            "--steps", "1", "--data", data, "--quiet"]
    cases = [
        (["--set", "data.resolution=32"], "its images are 16×16 gray, these are 32×32 gray"),
        (["--set", "data.resolution=16", "--set", "model.z_dim=8"], "stem.weight has shape (256, 16), here (256, 8)"),
        (["--set", "data.resolution=16", "--init", tmp_path / "data"], "--init needs a run folder with a checkpoint"),
    ]
    for extra, message in cases:
        argv = ["train-gan", *tiny, *extra] + ([] if "--init" in extra else ["--init", start])
        code, _, err = cli(*argv)
        assert code != 0 and message in err, (extra, err)
        assert len(err.strip().splitlines()) == 1 and not (tmp_path / "work" / "runs").exists()
    code, _, err = cli("train-gan", *tiny, "--set", "train.freeze_d_blocks=1")
    assert code != 0 and "freeze_d_blocks needs train.init" in err and len(err.strip().splitlines()) == 1


def test_unlabelled_images_teach_the_discriminator_realism_but_never_the_class_projection():
    trainer = fresh_trainer(["a", "b"])
    trainer.add_unlabelled(torch.randint(0, 256, (6, 1, 16, 16), dtype=torch.uint8))
    fake = trainer.G(torch.randn(4, 16), torch.tensor([0, 1, 0, 1])).detach()
    _, fake_unconditional = trainer.D(fake, torch.tensor([0, 1, 0, 1]), with_unconditional=True)
    trainer.unlabelled_d_loss(trainer._unlabelled_batch(4), fake_unconditional).backward()
    grads = {name: p.grad for name, p in trainer.D.named_parameters()}
    assert all(g is None or not g.any() for name, g in grads.items() if name.startswith("embed."))
    assert grads["head.parametrizations.weight.original"].abs().sum() > 0
    assert grads["from_image.parametrizations.weight.original"].abs().sum() > 0


def test_a_gan_trains_with_an_unlabelled_folder_and_reads_it_as_unlabelled(cli, tmp_path):
    from conftest import save_gray

    data = make_class_folder(tmp_path / "data", classes=("a", "b"))
    for i in range(3):
        save_gray(tmp_path / "unlabelled" / "kind" / f"{i}.png", value=100 + i)
        save_gray(tmp_path / "unlabelled" / "other" / f"{i}.png", value=150 + i)
    run = train_tiny_gan(data, tmp_path / "run", "--set", f"data.unlabeled={tmp_path / 'unlabelled'}")
    metrics = (run / "metrics.jsonl").read_text()
    assert "loss_d_unlabelled" in metrics
    code, _, err = cli("train-dae", "--data", data, "--steps", "1", "--device", "cpu",
                       "--set", f"data.unlabeled={tmp_path / 'unlabelled'}")
    assert code != 0 and "data.unlabeled" in err and len(err.strip().splitlines()) == 1


def test_a_dae_starts_from_another_dae_and_a_family_that_cannot_says_so(cli, tmp_path):
    from test_dae import train_tiny_dae

    start = train_tiny_dae(make_class_folder(tmp_path / "two", classes=("a", "b"), size=16), tmp_path / "start")
    three = make_class_folder(tmp_path / "three", classes=("x", "y", "z"), size=16)
    code, _, err = cli("train-dae", "--data", three, "--init", start, "--steps", "1", "--device", "cpu",
                       "--set", "model.width=8", "--set", "model.levels=2", "--set", "train.batch_size=16")
    assert code == 0, err
    assert "class-dependent tensor(s) start afresh" in err
    code, _, err = cli("train-rbm", "--data", three, "--init", start, "--steps", "1", "--quiet")
    assert code != 0 and "the rbm family cannot start from another run's weights yet" in err
    assert len(err.strip().splitlines()) == 1
