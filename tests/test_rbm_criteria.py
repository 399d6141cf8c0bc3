"""RBM criteria beyond CD: ratio matching, score matching and NCE match their definitions,
learn from the command line, resume exactly, and refuse the combinations that do not exist."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import assert_same_state, read_metrics, two_tone_folder
from ganaug_cli.config import RbmConfig
from ganaug_cli.config.boltzmann import RbmTrainConfig
from ganaug_cli.models.rbm import RBM
from ganaug_cli.models import rbm_objectives as objectives
from ganaug_cli.models.rbm_objectives import ratio_matching, score_matching
from ganaug_cli.models.rbm_partition import exact_log_partition
from ganaug_cli.training.rbm_objective_learner import FactorialNoise, ObjectiveLearner, learner_for

TINY = ["--device", "cpu", "--quiet", "--set", "data.resolution=8", "--set", "model.hidden=16",
        "--set", "train.batch_size=4", "--set", "train.log_every=1", "--set", "sample.burn_in=30",
        "--set", "eval.ais_betas=100", "--set", "eval.ais_chains=20"]
CRITERIA = {  # each criterion with visible units it exists for
    "ratio-matching": ["--set", "model.binarize=threshold"],
    "nce": ["--set", "model.binarize=threshold"],
    "score-matching": ["--set", "model.visible=gaussian"],
}


def random_rbm(units: str = "bernoulli", classes: int = 0, pixels: int = 12, hidden: int = 7) -> RBM:
    torch.manual_seed(0)
    rbm = RBM([pixels], hidden, units, False, classes)
    for tensor in (rbm.W, rbm.b_v, rbm.b_h):
        tensor.normal_(0, 0.5)
    if rbm.gaussian:
        rbm.log_var.uniform_(-0.5, 0.5)
    return rbm


@pytest.mark.parametrize("classes", [0, 3])
def test_ratio_matching_equals_flipping_each_unit_and_recomputing_the_free_energy(classes):
    rbm = random_rbm(classes=classes)
    generator = torch.Generator().manual_seed(1)
    image = torch.bernoulli(torch.full((5, 12), 0.5), generator=generator)
    labels = torch.randint(0, max(classes, 1), (5,), generator=generator)
    v = torch.cat([image, F.one_hot(labels, classes).float()], 1) if classes else image
    neighbours = []
    for i in range(12):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        neighbours.append(flipped)
    for label in range(classes):
        other = v.clone()
        other[:, 12:] = F.one_hot(torch.full((5,), label), classes).float()
        neighbours.append(torch.where((labels == label)[:, None], torch.nan, other))  # not a neighbour
    expected = torch.zeros(5)
    for neighbour in neighbours:
        term = torch.sigmoid(rbm.free_energy(v) - rbm.free_energy(neighbour)).pow(2)
        expected += torch.nan_to_num(term, nan=0.0)
    assert ratio_matching(rbm, v).item() == pytest.approx(expected.mean().item(), rel=1e-5)


def test_gaussian_score_matching_equals_its_definition_computed_with_autograd():
    rbm = random_rbm("gaussian", classes=2, pixels=6, hidden=5)
    x = torch.cat([torch.randn(4, 6), F.one_hot(torch.tensor([0, 1, 1, 0]), 2).float()], 1)
    image = x[:, :6].clone().requires_grad_(True)
    free = rbm.free_energy(torch.cat([image, x[:, 6:]], 1)).sum()
    psi = -torch.autograd.grad(free, image, create_graph=True)[0]  # the model's score
    slope = torch.stack([torch.autograd.grad(psi[:, i].sum(), image, retain_graph=True)[0][:, i] for i in range(6)], 1)
    definition = (0.5 * psi.pow(2) + slope).sum(1).mean()
    assert score_matching(rbm, x).item() == pytest.approx(definition.item(), rel=1e-5)


def test_nce_learns_the_log_partition_of_a_model_small_enough_to_enumerate():
    # 10 visible × 6 hidden units: Z sums 64 hidden configurations exactly.
    torch.manual_seed(0)
    prototypes = torch.tensor([[1.0] * 5 + [0.0] * 5, [0.0] * 5 + [1.0] * 5])
    picks = prototypes[torch.randint(0, 2, (4000,))]
    data = torch.where(torch.rand(4000, 10) < 0.1, 1 - picks, picks)
    rbm = RBM([10], 6, "bernoulli", False, 0)
    rbm.W.normal_(0, 0.01)
    train = RbmTrainConfig(criterion="nce", lr=0.02, nce_noise_ratio=10, batch_size=200)
    learner = ObjectiveLearner(rbm, train, "nce")
    learner.fit_noise(data, None)
    for step in range(1500):
        batch = data[(step * 200) % 4000:][:200]
        learner.update(batch, rate=0.02 * (1 - step / 1500), momentum=0.0, measure=False)
    assert abs(learner.log_z.item() - exact_log_partition(rbm)) < 0.5
    assert rbm.W.abs().max() > 0.5  # it learnt the two modes, not just the noise


@pytest.mark.parametrize("criterion", list(CRITERIA))
def test_each_criterion_lowers_its_objective_on_a_tiny_folder(cli, tmp_path, criterion):
    data = two_tone_folder(tmp_path / "data", per_class=16)
    code, out, err = cli("train-rbm", "--data", data, "--epochs", "10", "--seed", "0", *TINY, *CRITERIA[criterion],
                         "--set", f"train.criterion={criterion}", "--set", "eval.val_fraction=0")
    assert code == 0, err
    objective = [m["objective"] for m in read_metrics(Path(out.strip())) if "objective" in m]
    assert len(objective) == 80  # 8 steps an epoch
    assert sum(objective[-8:]) < 0.75 * sum(objective[:8]) or sum(objective[-8:]) < sum(objective[:8]) - 1


def test_an_nce_run_logs_its_learned_log_z_beside_ais_and_resumes_exactly(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data")
    common = [*TINY, *CRITERIA["nce"], "--set", "train.criterion=nce", "--seed", "3", "--epochs", "2"]
    code, out, err = cli("train-rbm", "--data", data, "--out", tmp_path / "straight", *common)
    assert code == 0, err
    straight = Path(out.strip())
    last = [m for m in read_metrics(straight) if "ais_log_z" in m][-1]
    assert "nce_log_z" in last and abs(last["nce_log_z"] - last["ais_log_z"]) < 50
    code, out, err = cli("train-rbm", "--data", data, "--out", tmp_path / "resumed", *common, "--steps", "3")
    assert code == 0, err
    code, _, err = cli("train-rbm", "--resume", tmp_path / "resumed", "--steps", "8", "--quiet")
    assert code == 0, err
    assert_same_state(straight, tmp_path / "resumed")


@pytest.mark.parametrize("family, sets, message", [
    ("rbm", ["train.criterion=score-matching"],
     "criterion=score-matching needs real-valued data: set model.visible=gaussian (binary data: criterion=ratio-matching)"),
    ("rbm", ["train.criterion=ratio-matching", "model.visible=gaussian"],
     "criterion=ratio-matching needs binary data; gaussian visibles take criterion=score-matching"),
    ("rbm", ["train.criterion=nce"], "criterion=nce needs binary images: set model.binarize=threshold or stochastic"),
    ("dbn", ["train.criterion=ratio-matching", "model.binarize=threshold"],
     "criterion=ratio-matching needs binary data in every layer above the first: set train.up_pass=samples"),
    ("rbm", ["train.criterion=nce", "model.binarize=threshold", "train.sparsity_target=0.1"],
     "sparsity_target: applies to cd and pcd, not criterion=nce"),
])
def test_a_criterion_that_does_not_fit_the_units_is_a_one_line_error(cli, tmp_path, family, sets, message):
    data = two_tone_folder(tmp_path / "data")
    options = [part for item in sets for part in ("--set", item)]
    code, _, err = cli(f"train-{family}", "--data", data, "--out", tmp_path / "run", *options)
    assert code == 1
    assert err.strip().splitlines()[-1].endswith(message) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_dbn_learns_every_layer_by_its_criterion_and_score_matching_layers_above_by_ratio_matching(cli, tmp_path):
    data = two_tone_folder(tmp_path / "data")
    tiny_dbn = ["--device", "cpu", "--quiet", "--set", "data.resolution=8", "--set", "train.batch_size=4",
                "--set", "train.log_every=1", "--set", "sample.burn_in=30"]
    code, out, err = cli("train-dbn", "--data", data, *tiny_dbn, "--epochs", "2", "--set", "model.layers=[8,8]",
                         "--set", "model.visible=gaussian", "--set", "train.criterion=score-matching",
                         "--set", "train.up_pass=samples")
    assert code == 0, err
    layers = {m["layer"] for m in read_metrics(Path(out.strip())) if "objective" in m}
    assert layers == {1, 2}
    binary_above = learner_for(random_rbm(), RbmTrainConfig(criterion="score-matching", lr=0.001))
    assert binary_above.criterion == "ratio-matching"


def test_a_run_written_before_the_criteria_names_cd_as_train_method():
    assert RbmConfig.model_validate({"train": {"method": "cd"}}).train.criterion == "cd"


def test_the_hand_written_flip_gradient_equals_autograd_on_the_plain_formula(monkeypatch):
    monkeypatch.setattr(objectives, "FLIP_CHUNK_ROWS", 2)  # chunks of 2, 2 and 1 rows
    rbm = random_rbm(classes=3)
    v = torch.cat([torch.bernoulli(torch.full((5, 12), 0.5)), F.one_hot(torch.arange(5) % 3, 3).float()], 1)
    parameters = [rbm.W, rbm.b_v, rbm.b_h]
    for p in parameters:
        p.requires_grad_(True)
    fast = torch.autograd.grad(ratio_matching(rbm, v), parameters)
    a, sign = rbm.hidden_input(v), 1 - 2 * v[:, :12]
    flipped = F.softplus(a[:, None, :] + sign[:, :, None] * rbm.W[:12]).sum(2)
    gaps = -sign * rbm.b_v[:12] - (flipped - F.softplus(a).sum(1, keepdim=True))
    plain = torch.sigmoid(-gaps).pow(2).sum(1).mean()
    plain = plain + (torch.sigmoid(-objectives.label_gaps(rbm, v)).pow(2) * (1 - v[:, 12:])).sum(1).mean()
    for got, expected in zip(fast, torch.autograd.grad(plain, parameters)):
        assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("units", ["bernoulli", "gaussian"])
def test_nce_noise_is_the_factorial_model_of_the_data_with_its_exact_log_density(units):
    rbm = random_rbm(units, classes=2, pixels=6)
    torch.manual_seed(2)
    data = torch.randn(500, 6) * 2 + 1 if rbm.gaussian else (torch.rand(500, 6) < torch.linspace(0.1, 0.9, 6)).float()
    labels = (torch.arange(500) % 5 == 0).long()  # one in five is class 1
    noise = FactorialNoise(rbm, data, labels)
    v = noise.sample(20000, None)
    assert v[:, 6:].sum(1).eq(1).all() and v[:, 7].mean().item() == pytest.approx(0.2, abs=0.02)
    assert torch.allclose(v[:, :6].mean(0), data.mean(0), atol=0.06)
    if rbm.gaussian:
        image = torch.distributions.Normal(data.mean(0), data.std(0))
    else:
        image = torch.distributions.Bernoulli(probs=(data.sum(0) + 1) / 502)
    classes = torch.distributions.Categorical(probs=torch.tensor([401.0, 101.0]) / 502)
    expected = image.log_prob(v[:20, :6]).sum(1) + classes.log_prob(v[:20, 6:].argmax(1))
    assert torch.allclose(noise.log_prob(v[:20]), expected, atol=1e-4)
