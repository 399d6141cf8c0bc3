"""DBN training: the RBM update rule applied greedily, one layer after another.

Layer l learns from the up-pass of the data through layers 0..l-1; the label units
join the top layer. The current layer follows from the update count alone, so a
checkpoint taken inside a layer resumes inside that layer.
"""

import math

import torch

from ganaug_cli.config import DbnConfig
from ganaug_cli.metrics.likelihood import reconstruction_error
from ganaug_cli.models.dbn import DBN
from ganaug_cli.training.base import DataInfo, Trainer
from ganaug_cli.training.rbm_learner import RbmLearner
from ganaug_cli.training.rbm import (
    METRIC_IMAGES,
    TrainingRecon,
    VisibleData,
    init_weights,
    label_units,
    momentum_at,
    rate_at,
    split_validation,
)


class DbnTrainer(Trainer):
    family = "dbn"
    checkpoint_each_epoch = True

    def __init__(self, config: DbnConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model = config.model
        shape = [info.channels, info.resolution, info.resolution]
        classes = label_units(model.labels, info.class_names)
        self.dbn = DBN(shape, model.layers, model.visible, model.learn_variance, classes, **config.sample.model_dump())
        for rbm in self.dbn.rbms:
            init_weights(rbm, config.train.init_std)
        self.dbn.to(device)
        self.visible = VisibleData(self.dbn.rbms[0], model.binarize, model.threshold)
        self.learners = [RbmLearner(rbm, config.train) for rbm in self.dbn.rbms]
        self.updates = 0
        self.recon = TrainingRecon()
        self.steps_per_epoch = 1
        self.held_out: tuple[torch.Tensor, torch.Tensor] | None = None
        self.training_images: tuple[torch.Tensor, torch.Tensor] | None = None
        self.started_layer = 0  # the highest layer whose chain start is fitted to its data

    @property
    def sampling_model(self) -> DBN:
        return self.dbn

    def planned_epochs(self) -> int:
        return self.config.train.epochs * len(self.dbn.rbms)

    def layer_at(self, updates: int) -> int:
        return min(updates // (self.steps_per_epoch * self.config.train.epochs), len(self.dbn.rbms) - 1)

    def hold_out(self, images, labels):
        train, val = split_validation(images.shape[0], self.config.eval.val_fraction)
        self.steps_per_epoch = math.ceil(len(train) / self.config.train.batch_size)
        self.visible.fit(images[train], labels[train], fresh=self.updates == 0)
        self.training_images, self.started_layer = (images[train], labels[train]), 0
        if len(val):
            self.held_out = images[val].to(self.device), labels[val].to(self.device)
        return images[train], labels[train]

    @torch.no_grad()
    def _fit_start(self, layer: int) -> None:
        """Start the layer's sampling chains at its data's class means. The layers below are
        final once it trains, and the up-pass uses probabilities, so a resumed run gets the same."""
        images, labels = self.training_images
        units = self.dbn.up(self.visible.evaluation(images.to(self.device)), layer)
        self.dbn.rbms[layer].fit_start(units, labels)
        self.started_layer = layer

    def _layer_data(self, image_units: torch.Tensor, labels: torch.Tensor, layer: int, sample: bool) -> torch.Tensor:
        v = self.dbn.up(image_units, layer, sample, self.learners[layer].random)
        return self.visible.with_labels(v, labels, self.dbn.rbms[layer].num_classes)

    def train_step(self, images, labels):
        cfg = self.config.train
        layer = self.layer_at(self.updates)
        if layer > self.started_layer:
            self._fit_start(layer)
        with torch.no_grad():
            v = self._layer_data(self.visible.images(images), labels, layer, cfg.up_pass == "samples")
        per_layer = self.steps_per_epoch * cfg.epochs
        update_in_layer = self.updates - layer * per_layer
        rate = rate_at(cfg, update_in_layer, per_layer)
        momentum = momentum_at(cfg, update_in_layer // self.steps_per_epoch)
        measured = self.learners[layer].update(v, rate, momentum, self.recon.due(self.updates))
        self.updates += 1
        return self.recon.step(measured)

    def extra_metrics(self):
        return {"layer": self.layer_at(max(self.updates - 1, 0)) + 1}

    def end_of_epoch(self, epoch, images, labels):
        layer = self.layer_at(self.updates - 1)  # the layer this epoch trained
        prefix, (images, labels) = ("val", self.held_out) if self.held_out else ("train", (images[:METRIC_IMAGES], labels[:METRIC_IMAGES]))
        with torch.no_grad():
            v = self._layer_data(self.visible.evaluation(images), labels, layer, sample=False)
        return {"layer": layer + 1, f"{prefix}_recon_error": round(reconstruction_error(self.dbn.rbms[layer], v), 6)}

    def preview(self):
        # While lower layers train, the stack above them is still random: show what exists.
        level, top = self.layer_at(max(self.updates - 1, 0)), len(self.dbn.rbms) - 1
        if level == top:
            return super().preview()
        return self.dbn.sample_from(level, 64, None, torch.Generator().manual_seed(0)).cpu(), 8

    def extra_previews(self):
        return {"filters": (self.dbn.rbms[0].filters().cpu(), 8)}

    def state_dict(self):
        return {
            "dbn": self.dbn.state_dict(),
            "learners": [learner.state_dict() for learner in self.learners],
            "updates": self.updates,
            "recon_error": self.recon.value,
        }

    def load_state_dict(self, state):
        self.dbn.load_state_dict(state["dbn"])
        for learner, saved in zip(self.learners, state["learners"]):
            learner.load_state_dict(saved, self.device)
        self.updates = int(state["updates"])
        self.recon.value = state.get("recon_error", self.recon.value)
