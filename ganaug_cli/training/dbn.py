"""DBN training: the RBM update rule applied greedily, one layer after another.

Layer l learns from the up-pass of the data through layers 0..l-1; the label units
join the top layer. The current layer follows from the update count alone, so a
checkpoint taken inside a layer resumes inside that layer.
"""


import torch

from ganaug_cli.config import DbnConfig
from ganaug_cli.models.dbn import DBN
from ganaug_cli.models.rbm_likelihood import reconstruction_error
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.boltzmann import BoltzmannTrainer, init_weights, momentum_at, rate_at
from ganaug_cli.training.rbm_objective_learner import learner_for


class DbnTrainer(BoltzmannTrainer):
    family = "dbn"

    def __init__(self, config: DbnConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model = config.model
        self.dbn = DBN(self.shape, model.layers, model.visible, model.learn_variance, self.label_units)
        for rbm in self.dbn.rbms:
            init_weights(rbm, config.train.init_std)
        self.dbn.to(device)
        self.setup_visible(self.dbn.rbms[0])
        self.learners = [learner_for(rbm, config.train) for rbm in self.dbn.rbms]
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
        self.training_images, self.started_layer = super().hold_out(images, labels), 0
        if self.config.train.criterion == "nce":
            images, labels = self.training_images
            self.learners[0].fit_noise(self.visible.evaluation(images.to(self.device)), labels.to(self.device))
        return self.training_images

    @torch.no_grad()
    def _fit_start(self, layer: int) -> None:
        """Start the layer's sampling chains at its data's class means. The layers below are
        final once it trains, and the up-pass uses probabilities, so a resumed run gets the same."""
        images, labels = self.training_images
        units = self.dbn.up(self.visible.evaluation(images.to(self.device)), layer)
        self.dbn.rbms[layer].fit_start(units, labels)
        if self.config.train.criterion == "nce":
            self.learners[layer].fit_noise(units, labels.to(self.device))
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
        measured = self.learners[layer].update(v, rate, momentum, self.recon.due(self.updates), self.world)
        self.updates += 1
        return self.step_metrics(measured, self.learners[layer])

    def extra_metrics(self):
        return {"layer": self.layer_at(max(self.updates - 1, 0)) + 1}

    def end_of_epoch(self, epoch, images, labels):
        layer = self.layer_at(self.updates - 1)  # the layer this epoch trained
        prefix, images, labels = self.metric_images(images, labels)
        with torch.no_grad():
            v = self._layer_data(self.visible.evaluation(images), labels, layer, sample=False)
        return {"layer": layer + 1, f"{prefix}_recon_error": round(reconstruction_error(self.dbn.rbms[layer], v), 6)}

    def preview(self):
        # While lower layers train, the stack above them is still random: show what exists.
        level, top = self.layer_at(max(self.updates - 1, 0)), len(self.dbn.rbms) - 1
        if level == top:
            return super().preview()
        generator = torch.Generator().manual_seed(0)
        return self.dbn.sample_from(level, 64, None, generator, **self.sample_options()).cpu(), 8

    def state_dict(self):
        return {
            "dbn": self.dbn.state_dict(),
            "learners": [learner.state_dict() for learner in self.learners],
            **self.recon_state(),
        }

    def load_state_dict(self, state):
        self.dbn.load_state_dict(state["dbn"])
        for learner, saved in zip(self.learners, state["learners"]):
            learner.load_state_dict(saved, self.device)
        self.load_recon_state(state)
