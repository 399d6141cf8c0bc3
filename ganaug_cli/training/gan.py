"""GAN training: hinge or logistic loss, DiffAugment, optional R1, EMA generator."""

import copy
import re

import torch
import torch.nn.functional as F

from ganaug_cli.config import GanConfig
from ganaug_cli.errors import TrainingError
from ganaug_cli.models.gan import Discriminator, Generator
from ganaug_cli.training.diff_augment import AdaptiveStrength, diff_augment
from ganaug_cli.training.ema import update_average
from ganaug_cli.training.base import DataInfo, Trainer
from ganaug_cli.training.initialise import load_matching


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean() if kind == "hinge" else F.softplus(-fake).mean()


def class_dependent(name: str) -> bool:
    """The generator's class-conditional norms and the discriminator's projection and classifier."""
    return bool(re.search(r"(^|\.)(embed|classify)\.|norm\.norm\.(weight|bias)$", name))


class GanTrainer(Trainer):
    family = "gan"

    def __init__(self, config: GanConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model, train = config.model, config.train
        conditional = model.conditional if model.conditional != "auto" else len(info.class_names) > 1
        num_classes = len(info.class_names) if conditional else 0
        self.balanced_batches = train.balance_classes
        self.G = Generator(info.resolution, info.channels, model.z_dim, model.width, model.max_width, num_classes)
        self.class_loss = train.class_loss if num_classes else 0.0
        self.D = Discriminator(info.resolution, info.channels, model.width, model.max_width, num_classes,
                               model.d_dropout, model.d_antialias, classifier=self.class_loss > 0)
        self.d_trainable = self._freeze_lowest_d_layers(train.freeze_d_blocks)
        self.G.to(device)
        self.D.to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if device.type == "cuda":  # faster convolutions on tensor cores
            for net in (self.G, self.D, self.G_ema):
                net.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=train.lr_g, betas=(train.beta1, train.beta2))
        self.opt_d = torch.optim.Adam(self.d_trainable, lr=train.lr_d, betas=(train.beta1, train.beta2))
        augment = config.augment
        self.adaptive = (
            AdaptiveStrength(augment.p, augment.target, augment.adjust_images, augment.interval, train.batch_size)
            if augment.adaptive
            else None
        )
        self.updates = 0
        self.unlabelled: torch.Tensor | None = None  # N×C×H×W uint8 (add_unlabelled)
        use_amp = device.type == "cuda" and train.mixed_precision and torch.cuda.is_bf16_supported()
        self.autocast_dtype = torch.bfloat16 if use_amp else None

    @property
    def sampling_model(self) -> Generator:
        return self.G_ema

    @property
    def augment_p(self) -> float:
        return self.adaptive.p if self.adaptive else self.config.augment.p

    def _autocast(self):
        if self.autocast_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.autocast_dtype)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.config.augment.policy, self.augment_p)

    def train_step(self, images, labels):
        cfg = self.config.train
        labels = labels if self.G.num_classes else None
        real = images * 2 - 1
        if self.device.type == "cuda":
            real = real.contiguous(memory_format=torch.channels_last)
        z = torch.randn(real.shape[0], self.G.z_dim, device=self.device)

        # Discriminator step
        with self._autocast():
            with torch.no_grad():
                fake = self.G(z, labels)
            real_in = self._augment(real).detach().requires_grad_(cfg.r1_gamma > 0)
            metrics = {}
            if self.class_loss:
                real_scores, logits = self.D(real_in, labels, with_logits=True)
                metrics["loss_class_real"] = F.cross_entropy(logits.float(), labels)
                real_scores = real_scores.float()
            else:
                real_scores = self.D(real_in, labels).float()
            fake_scores, *fake_unconditional = self._judge(self._augment(fake), labels, with_logits=False)
            loss_d = d_loss(cfg.loss, real_scores, fake_scores.float()) + self.class_loss * metrics.get(
                "loss_class_real", 0.0)
            if self.unlabelled is not None:
                metrics["loss_d_unlabelled"] = self.unlabelled_d_loss(self._unlabelled_batch(len(real)),
                                                                      fake_unconditional[0])
                loss_d = loss_d + metrics["loss_d_unlabelled"]
        if cfg.r1_gamma > 0:
            (grad,) = torch.autograd.grad(real_scores.sum(), real_in, create_graph=True)
            loss_d = loss_d + cfg.r1_gamma / 2 * grad.float().pow(2).sum(dim=(1, 2, 3)).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.world.average_gradients(self.d_trainable)
        self.opt_d.step()
        if self.adaptive:  # the overfitting signal of the global batch, so p stays alike on every rank
            sign = torch.sign(real_scores.detach()).mean()
            self.world.average_([sign])
            self.adaptive.observe(sign)

        # Generator step
        z = torch.randn(real.shape[0], self.G.z_dim, device=self.device)
        self._d_learns(False)  # only the generator learns here; skips D's weight gradients
        with self._autocast():
            scores, *extra = self._judge(self._augment(self.G(z, labels)), labels, with_logits=bool(self.class_loss))
            loss_g = g_loss(cfg.loss, scores.float())
            if self.class_loss:  # the generator's images must pass as the class asked for
                metrics["loss_class_fake"] = F.cross_entropy(extra[0].float(), labels)
                loss_g = loss_g + self.class_loss * metrics["loss_class_fake"]
            if self.unlabelled is not None:  # and as real images of the domain, whatever their class
                loss_g = loss_g + g_loss(cfg.loss, extra[-1].float())
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.world.average_gradients(self.G.parameters())
        self.opt_g.step()
        self._d_learns(True)
        self._update_ema()
        metrics = {name: value.detach() for name, value in metrics.items()}
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_real": real_scores.detach().mean(), **metrics}

    def _judge(self, images, labels, with_logits: bool) -> tuple:
        """The discriminator's scores, its class logits (``with_logits``), then its unconditional
        scores when there are unlabelled images."""
        outputs = self.D(images, labels, with_logits=with_logits, with_unconditional=self.unlabelled is not None)
        return outputs if isinstance(outputs, tuple) else (outputs,)

    def add_unlabelled(self, images):
        self.unlabelled = images

    def _unlabelled_batch(self, count: int) -> torch.Tensor:
        """Unlabelled images drawn with the run's own random stream (checkpointed, so resumes are exact)."""
        chosen = torch.randint(len(self.unlabelled), (count,))
        return self.unlabelled[chosen].to(self.device).float() / 127.5 - 1

    def unlabelled_d_loss(self, real: torch.Tensor, fake_unconditional: torch.Tensor) -> torch.Tensor:
        """Unlabelled real images against the fakes, both by the class-free score only: they
        teach the discriminator realism, never the class projection."""
        real_scores = self.D(self._augment(real), None).float()
        return d_loss(self.config.train.loss, real_scores, fake_unconditional.float())

    def _freeze_lowest_d_layers(self, count: int) -> list[torch.nn.Parameter]:
        """FreezeD (Mo et al. 2020): the discriminator's lowest layers keep the initial run's
        weights, so a small folder fine-tunes only its upper, more specific ones."""
        layers = [self.D.from_image, *self.D.blocks]
        if count > len(layers):
            raise TrainingError(f"train.freeze_d_blocks: {count} is more than the discriminator's {len(layers)} "
                                f"layers at {self.info.resolution}×{self.info.resolution}")
        for layer in layers[:count]:
            layer.requires_grad_(False)
        return [p for p in self.D.parameters() if p.requires_grad]

    def _d_learns(self, learns: bool) -> None:
        for parameter in self.d_trainable:
            parameter.requires_grad_(learns)

    def start_from(self, state, same_classes, where):
        fresh = []
        for name, net in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            fresh += [f"{name}.{key}" for key in load_matching(net, state[name], class_dependent, same_classes, where)]
        return fresh

    def _update_ema(self) -> None:
        self.updates += 1
        update_average(self.G_ema, self.G, self.config.model.ema_decay, self.updates)

    def extra_metrics(self):
        return {"augment_p": round(self.augment_p, 4)}

    def state_dict(self):
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "adaptive": self.adaptive.state_dict() if self.adaptive else None,
            "updates": self.updates,
        }

    def load_state_dict(self, state):
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.adaptive and state["adaptive"]:
            self.adaptive.load_state_dict(state["adaptive"])
        self.updates = int(state["updates"])
