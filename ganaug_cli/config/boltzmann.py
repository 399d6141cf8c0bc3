"""The Boltzmann families' config schemas (RBM and DBN). Defaults here are the only defaults."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ganaug_cli.config.schema import AutoOrBool, DataConfig, Section, TrainConfig


class VisibleUnitsConfig(Section):
    """How the image (and label) units of a Boltzmann model's visible layer behave."""

    visible: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="bernoulli for intensities in [0, 1]; gaussian for real-valued/colour data"
    )
    binarize: Literal["none", "threshold", "stochastic"] = Field(
        "none", description="bernoulli: feed intensities as probabilities (none) or binarise them"
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="binarize=threshold: the cut")
    learn_variance: bool = Field(False, description="gaussian: learn per-pixel variance (else fixed at 1)")
    labels: AutoOrBool = Field(
        "auto", description="one-hot label units in the visible layer; auto = when several classes"
    )

    @model_validator(mode="after")
    def _binarize_needs_bernoulli(self):
        if self.visible == "gaussian" and self.binarize != "none":
            raise ValueError("binarize: gaussian visible units take real values; use binarize=none")
        return self


class RbmModelConfig(VisibleUnitsConfig):
    hidden: int = Field(500, gt=0, description="hidden units")


def _auto_or_positive(value):
    if value != "auto" and value <= 0:
        raise ValueError("must be auto or greater than 0")
    return value


AutoOrPositiveFloat = Annotated[float | Literal["auto"], AfterValidator(_auto_or_positive)]
AutoOrPositiveInt = Annotated[int | Literal["auto"], AfterValidator(_auto_or_positive)]


# train.lr=auto picks by criterion and visible units: CD/PCD take plain gradient steps, where
# Gaussian units need a smaller one (Hinton's guide); the autograd criteria take Adam steps.
AUTO_LR = {
    ("pcd", "bernoulli"): 0.05, ("pcd", "gaussian"): 0.001, ("cd", "bernoulli"): 0.05, ("cd", "gaussian"): 0.001,
    ("ratio-matching", "bernoulli"): 0.003, ("score-matching", "gaussian"): 0.001,
    ("nce", "bernoulli"): 0.003, ("nce", "gaussian"): 0.001,
}
SAMPLED_CRITERIA = ("cd", "pcd")  # the rest are objectives differentiated by autograd
Criterion = Literal["pcd", "cd", "ratio-matching", "score-matching", "nce"]


class RbmTrainConfig(TrainConfig):
    epochs: int | None = Field(20, gt=0)
    batch_size: int = Field(100, gt=0, description="also the number of persistent chains (pcd)")
    criterion: Criterion = Field(
        "pcd",
        description="pcd or cd (contrastive divergence, persistent or not); ratio-matching (binary data), "
        "score-matching (gaussian visibles) or nce (noise-contrastive estimation), each by Adam on its objective",
    )
    k: int = Field(1, gt=0, description="cd/pcd: Gibbs steps per update")
    lr: AutoOrPositiveFloat = Field(
        "auto",
        description="learning rate; auto = cd/pcd: 0.05 for bernoulli visibles, 0.001 for gaussian; "
        "ratio-matching and bernoulli nce: 0.003; score-matching and gaussian nce: 0.001",
    )
    nce_noise_ratio: int = Field(
        4, gt=0, description="nce: noise samples per data image, from a factorial model of the data"
    )
    # Tieleman (2008) decays PCD's rate to 0: with a fixed rate the final model keeps modes its
    # fast-moving chains escaped, and sampling from noise falls into them (docs/benchmarks.md).
    lr_decay: Literal["none", "linear"] = Field(
        "linear", description="linear: the rate falls to 0 over the planned epochs (per layer in a DBN; --steps when epochs is null)"
    )
    # Hinton's guide uses momentum 0.5 -> 0.9 and weight decay 1e-4 with CD; with PCD both
    # lowered held-out likelihood on Fashion-MNIST (docs/benchmarks.md), so they start off.
    momentum_start: float = Field(0.0, ge=0, lt=1, description="cd/pcd: momentum until the switch epoch (cd: try 0.5)")
    momentum_end: float = Field(0.0, ge=0, lt=1, description="cd/pcd: momentum from the switch epoch on (cd: try 0.9)")
    momentum_switch_epoch: int = Field(5, ge=0, description="epoch at which momentum switches")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty on the weights (cd: try 1e-4)")
    init_std: float = Field(0.01, gt=0, description="standard deviation of the initial weights")
    sparsity_target: float | None = Field(None, gt=0, lt=1, description="cd/pcd: wanted mean hidden activation")
    sparsity_cost: float = Field(0.01, ge=0, description="weight of the sparsity penalty (when a target is set)")
    sparsity_decay: float = Field(0.95, ge=0, lt=1, description="decay of the running mean hidden activation")

    @model_validator(mode="before")
    @classmethod
    def _method_is_now_criterion(cls, data):
        # Runs written before the criteria existed name CD/PCD as train.method.
        if isinstance(data, dict) and "method" in data and "criterion" not in data:
            data = {**data, "criterion": data["method"]}
            del data["method"]
        return data

    @model_validator(mode="after")
    def _sparsity_needs_sampled_criterion(self):
        if self.sparsity_target is not None and self.criterion not in SAMPLED_CRITERIA:
            raise ValueError(f"sparsity_target: applies to cd and pcd, not criterion={self.criterion}")
        return self


class RbmEvalConfig(Section):
    val_fraction: float = Field(0.1, ge=0, lt=1, description="held-out share of the folder for the metrics")
    # Small folders take many short epochs, so a fixed epoch interval would spend most of a
    # run on AIS; auto keeps it to two estimates whatever the length (docs/benchmarks.md).
    ais_every: AutoOrPositiveInt = Field(
        "auto",
        description="epochs between AIS estimates; auto = halfway and at the last planned epoch (without planned "
        "epochs, only at the end). The last planned epoch, and the end of a run cut short, always get one. Each "
        "runs ais_betas Gibbs sweeps of ais_chains chains",
    )
    ais_chains: int = Field(100, gt=0)
    ais_betas: int = Field(1000, gt=1, description="intermediate temperatures per AIS run")
    pll_images: int = Field(200, gt=0, description="held-out images scored by the pseudo-log-likelihood")


def _zero_or_more(value: int) -> int:
    if value < 0:
        raise ValueError(f"must be 0 or more (got {value})")
    return value


class GibbsOptions(Section):
    """How a Boltzmann model's Gibbs chains make images: the RBM and DBN sampling options.

    A run's ``sample`` section sets them; ``ganaug sample --burn-in`` (and the other
    flags named after these fields) override them for one call.
    """

    # Chains start near the clamped class's mean image, and longer chains wander into other
    # classes' modes faster than they gain variety (docs/benchmarks.md), so the default is short.
    burn_in: Annotated[int, AfterValidator(_zero_or_more)] = Field(
        100, description="Gibbs steps before the first kept sample"
    )
    thinning: int = Field(1, gt=0, description="Gibbs steps between kept samples of one chain")
    images_per_chain: int = Field(1, gt=0, description="images kept from each chain (1 = independent chains)")


def _check_criterion(config, layers_above: bool):
    """The criterion must exist for the visible units: ratio matching needs binary data, score
    matching real-valued data. A DBN's layers above the first are binary whatever the image is."""
    criterion, model = config.train.criterion, config.model
    binary_images = model.visible == "bernoulli" and model.binarize != "none"
    if criterion == "score-matching" and model.visible != "gaussian":
        raise ValueError("criterion=score-matching needs real-valued data: set model.visible=gaussian "
                         "(binary data: criterion=ratio-matching)")
    if criterion == "ratio-matching" and model.visible == "gaussian":
        raise ValueError("criterion=ratio-matching needs binary data; gaussian visibles take criterion=score-matching")
    if criterion in ("ratio-matching", "nce") and model.visible == "bernoulli" and not binary_images:
        raise ValueError(f"criterion={criterion} needs binary images: set model.binarize=threshold or stochastic")
    if layers_above and criterion not in SAMPLED_CRITERIA and config.train.up_pass != "samples":
        # Score matching's layers above the first are binary and take its binary form, ratio matching.
        raise ValueError(f"criterion={criterion} needs binary data in every layer above the first: "
                         "set train.up_pass=samples")
    return config


def _resolve_lr(config):
    if config.train.lr == "auto":  # a copy: never touch a shared default section
        rate = AUTO_LR[config.train.criterion, config.model.visible]
        config.train = config.train.model_copy(update={"lr": rate})
    return config


class RbmConfig(Section):
    data: DataConfig = DataConfig()
    model: RbmModelConfig = RbmModelConfig()
    train: RbmTrainConfig = RbmTrainConfig()
    eval: RbmEvalConfig = RbmEvalConfig()
    sample: GibbsOptions = GibbsOptions()

    @model_validator(mode="after")
    def _lr(self):
        return _resolve_lr(_check_criterion(self, layers_above=False))


class DbnModelConfig(VisibleUnitsConfig):
    layers: list[int] = Field([500, 500, 2000], min_length=1, description="hidden units per layer")

    @field_validator("layers")
    @classmethod
    def _positive_layers(cls, layers):
        if any(size <= 0 for size in layers):
            raise ValueError("every layer size must be greater than 0")
        return layers


class DbnTrainConfig(RbmTrainConfig):
    epochs: int = Field(10, gt=0, description="epochs per layer")
    up_pass: Literal["probabilities", "samples"] = Field(
        "probabilities", description="what the layer below hands up as the next layer's data"
    )


class DbnEvalConfig(Section):
    val_fraction: float = Field(0.1, ge=0, lt=1, description="held-out share of the folder for the metrics")


class DbnConfig(Section):
    data: DataConfig = DataConfig()
    model: DbnModelConfig = DbnModelConfig()
    train: DbnTrainConfig = DbnTrainConfig()
    eval: DbnEvalConfig = DbnEvalConfig()
    sample: GibbsOptions = GibbsOptions()

    @model_validator(mode="after")
    def _lr(self):
        return _resolve_lr(_check_criterion(self, layers_above=len(self.model.layers) > 1))


