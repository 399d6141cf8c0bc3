"""augment: train (or reuse) a model and write real + synthetic images as a new ImageFolder."""

import json
import logging
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from pydantic import create_model

from ganaug_cli.cli.output import print_result, setup_output, validate_flags
from ganaug_cli.config.commands import AugmentCommandConfig, NearRealFields
from ganaug_cli.devices import resolve_device
from ganaug_cli.errors import ConfigError
from ganaug_cli.data.scan import scan_image_folder
from ganaug_cli.families import Family
from ganaug_cli.workflows.augmented_folder import AugmentPlan, augment_folder, check_out_folder
from ganaug_cli.workflows.share_check import ShareCheck
from ganaug_cli.workflows.held_out import files_to_hold_out
from ganaug_cli.workflows.pseudo_labels import PseudoLabelPlan
from ganaug_cli.workflows.train import train_family

log = logging.getLogger("ganaug")
DEFAULTS = AugmentCommandConfig()


def make_augment_command(families: dict[str, Family]):
    """``augment`` whose --model takes any registered family."""
    # --model's choices are the registry's, checked with the other flags so every problem is one line.
    schema = create_model(
        "AugmentFlags", __base__=AugmentCommandConfig, model=(Literal[tuple(families)], DEFAULTS.model)
    )
    names = ", ".join(families)

    def augment(
        data: Annotated[Path, typer.Option("--data", help="The real image folder (only read, never changed).")],
        out: Annotated[Path, typer.Option("--out", help="New folder for real + synthetic images (must not exist or be empty).")],
        model: Annotated[Optional[str], typer.Option("--model", help=f"{names} (default: {DEFAULTS.model}).")] = None,
        run: Annotated[Optional[Path], typer.Option("--run", help="Use this trained run instead of training one.")] = None,
        ratio: Annotated[Optional[float], typer.Option("--ratio", help="Add R × each class's real count (default: as many as the held-out check finds helpful, possibly none).")] = None,
        per_class: Annotated[Optional[int], typer.Option("--per-class", help="Add N images to every class.")] = None,
        balance: Annotated[bool, typer.Option("--balance", help="Fill every class up to the largest class's count.")] = False,
        link: Annotated[bool, typer.Option("--link", help="Hard-link the real images instead of copying them.")] = False,
        min_confidence: Annotated[Optional[float], typer.Option("--min-confidence", help=f"Keep samples the domain classifier puts in their class with this probability (default: {DEFAULTS.min_confidence}).")] = None,
        no_filter: Annotated[bool, typer.Option("--no-filter", help="Keep every sample (no class-confidence filter).")] = False,
        reject_copies: Annotated[bool, typer.Option("--reject-copies", help="Drop samples that are near-copies of training images.")] = False,
        allow_fewer: Annotated[bool, typer.Option("--allow-fewer", help="When the filters reject too many samples of a class, add those that passed (with a warning) instead of failing.")] = False,
        near_real: Annotated[Optional[bool], typer.Option("--near-real/--no-near-real", help="Synthetic images near the real ones: a variation of each real image instead of fresh noise (default: for GAN runs, which can).")] = None,
        near_radius: Annotated[Optional[float], typer.Option("--near-radius", help=f"With --near-real: how far from each real image, 0 = its reconstruction (default: {DEFAULTS.near_radius}).")] = None,
        check_shares: Annotated[Optional[list[float]], typer.Option("--check-share", help=f"A synthetic share of the folder for the held-out check to try (repeatable; default: {', '.join(map(str, DEFAULTS.check_shares))}).")] = None,
        check_seeds: Annotated[Optional[int], typer.Option("--check-seeds", help=f"Judge classifiers per share in the held-out check (default: {DEFAULTS.check_seeds}).")] = None,
        unlabeled: Annotated[Optional[Path], typer.Option("--unlabeled", help="Unlabelled images of the same kind (only read): those the classifier trained on --data puts in a class with confidence are added, as pseudo-labelled, when the held-out check shows that they help.")] = None,
        pseudo_confidence: Annotated[Optional[float], typer.Option("--pseudo-confidence", help=f"With --unlabeled: the class probability an image needs (default: {DEFAULTS.pseudo_confidence}).")] = None,
        pseudo_share: Annotated[Optional[float], typer.Option("--pseudo-share", help="With --unlabeled: make this share of the folder pseudo-labelled images, unchecked (default: as the held-out check chooses, possibly none).")] = None,
        pseudo_teacher: Annotated[Optional[str], typer.Option("--pseudo-teacher", help=f"With --unlabeled: spread (label spreading over all images teaches the classifier) or labelled (the classifier learns from --data alone) (default: {DEFAULTS.pseudo_teacher}).")] = None,
        synthetic: Annotated[bool, typer.Option("--synthetic/--no-synthetic", help="--no-synthetic: train no model and add no synthetic images (with --unlabeled: pseudo-labels alone).")] = True,
        config: Annotated[Optional[Path], typer.Option("--config", help="Training config (YAML), as for train-<model>.")] = None,
        sets: Annotated[Optional[list[str]], typer.Option("--set", help="Training config override section.key=value.")] = None,
        steps: Annotated[Optional[int], typer.Option("--steps", help="Training steps (default: the model's train.steps).")] = None,
        epochs: Annotated[Optional[int], typer.Option("--epochs", help="Training epochs (default: the model's train.epochs).")] = None,
        max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Training time limit.")] = None,
        device: Annotated[Optional[str], typer.Option("--device", help=f"auto, cpu, cuda, cuda:N or mps (default: {DEFAULTS.device}).")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", help="Seed for training and sampling.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors and the output folder.")] = False,
    ) -> None:
        """Write DIR's images plus synthetic ones as a new ImageFolder at --out.

        Example: ganaug augment --data ./imgs --out ./imgs-augmented --balance
        """
        progress = setup_output(quiet)
        if sum(x is not None and x is not False for x in (ratio, per_class, balance or None)) > 1:
            raise typer.BadParameter("give only one of --ratio, --per-class and --balance", param_hint="'--ratio'")
        flags = {"model": "--model", "ratio": "--ratio", "min_confidence": "--min-confidence",
                 "check_shares": "--check-share", "check_seeds": "--check-seeds", "device": "--device",
                 "near_radius": "--near-radius", "pseudo_confidence": "--pseudo-confidence",
                 "pseudo_share": "--pseudo-share", "pseudo_teacher": "--pseudo-teacher"}
        options = validate_flags(schema, flags, model=model, ratio=ratio, min_confidence=min_confidence,
                                 check_shares=check_shares, check_seeds=check_seeds, device=device,
                                 near_real=near_real, near_radius=near_radius, pseudo_confidence=pseudo_confidence,
                                 pseudo_share=pseudo_share, pseudo_teacher=pseudo_teacher)
        if near_radius is not None and options.near_real is False:
            raise ConfigError("--near-radius: applies only with --near-real")
        for value, flag in ((pseudo_confidence, "--pseudo-confidence"), (pseudo_share, "--pseudo-share"),
                            (pseudo_teacher, "--pseudo-teacher")):
            if value is not None and unlabeled is None:
                raise ConfigError(f"{flag}: applies only with --unlabeled")
        if not synthetic and run is not None:
            raise ConfigError("--no-synthetic: cannot be combined with --run (a run is only used for its samples)")
        if not synthetic and (ratio is not None or per_class is not None or balance):
            raise ConfigError("--no-synthetic: --ratio, --per-class and --balance count synthetic images, which it "
                              "does not add")
        if not synthetic and unlabeled is None:
            raise ConfigError("--no-synthetic: without --unlabeled there is nothing to add")
        if unlabeled is not None:
            scan_image_folder(unlabeled)  # a missing or empty folder fails before a possibly long training
        check_out_folder(out)  # before a possibly long training
        counted = options.ratio is not None or per_class is not None or balance
        if run is None and synthetic:
            # The check's held-out images stay out of the generator's training, so they can judge its samples.
            held = [] if counted else files_to_hold_out(data, options.held_out, options.min_class_images)
            given = {"data.path": ("--data", str(data)), "data.exclude": ("--data", held or None),
                     "train.steps": ("--steps", steps), "train.epochs": ("--epochs", epochs), "train.max_minutes": ("--max-minutes", max_minutes),
                     "train.device": ("--device", device), "train.seed": ("--seed", seed)}
            family = families[options.model]
            if unlabeled is not None and "unlabeled" in family.config.model_fields["data"].annotation.model_fields:
                given["data.unlabeled"] = ("--unlabeled", str(unlabeled))  # the generator learns from them too
            flags = {key: value for key, value in given.items() if value[1] is not None}
            run = train_family(family, config_file=config, flags=flags, sets=sets or [], progress=progress)
            log.info("trained run: %s", run)
        plan = AugmentPlan(
            ratio=options.ratio, per_class=per_class, balance=balance, link=link,
            min_confidence=None if no_filter else options.min_confidence, reject_copies=reject_copies, seed=seed,
            allow_fewer=allow_fewer, check=ShareCheck.from_config(options), near=NearRealFields(**options.model_dump(
                include=set(NearRealFields.model_fields))),
            pseudo=PseudoLabelPlan(unlabeled, options.pseudo_confidence, list(options.pseudo_shares),
                                   options.pseudo_share, options.pseudo_teacher) if unlabeled else None,
        )
        report = augment_folder(data, out, run, plan, resolve_device(options.device), progress)
        log.info(
            "wrote %d real and %d synthetic images to %s (%.0f%% of drawn samples rejected by the filters)",
            sum(report.real.values()), sum(report.synthetic.values()), out, 100 * report.rejection_rate,
        )
        log.info("per class (real + synthetic): %s", json.dumps(
            {name: f"{count} + {report.synthetic.get(name, 0)}" for name, count in report.real.items()}))
        if report.share is not None and report.share.share == 0:
            log.info("wrote no synthetic images: they did not help a classifier on the held-out real images")
        if report.pseudo is not None:
            log.info("pseudo-labelled images added per class: %s", json.dumps(report.pseudo.added or "none"))
        print_result(str(out))

    return augment
