"""eval: measure what synthetic images are worth against the real folder."""

import json
import secrets
from pathlib import Path
from typing import Annotated, Optional

import typer

from ganaug_cli.cli.output import print_result, setup_output, validate_flags
from ganaug_cli.config.commands import EvalCommandConfig
from ganaug_cli.devices import resolve_device
from ganaug_cli.metrics.inception import require_weights
from ganaug_cli.runs import DEFAULT_RUNS_ROOT
from ganaug_cli.sampling import load_sampling_model, resolve_checkpoint
from ganaug_cli.workflows.evaluate import evaluate, synthetic_from_folder, synthetic_from_run

DEFAULTS = EvalCommandConfig()


def _format(report: dict) -> list[str]:
    lines = [
        f"synthetic: {report['source']} ({report['synthetic_images']} images) vs real: {report['real_images']} images",
        f"features: {report['features']}",
        f"FID: {report['fid']:.4f}",
        f"KID: {report['kid_mean']:.5f} ± {report['kid_std']:.5f}",
        f"precision: {report['precision']:.3f}  recall: {report['recall']:.3f}",
        f"near-copies of training images: {report['copies']:.1%}",
    ]
    if "class_fidelity" in report:
        lines.append(f"class fidelity: {report['class_fidelity']:.1%}")
        lines += [f"  {name}: {value:.1%}" for name, value in report["class_fidelity_per_class"].items()]
    if "downstream" in report:
        d = report["downstream"]
        lines.append(
            f"held-out accuracy: real {d['real']['mean']:.1%} ± {d['real']['std']:.1%}, "
            f"real+synthetic {d['real+synthetic']['mean']:.1%} ± {d['real+synthetic']['std']:.1%} "
            f"(gain {d['gain']:+.1%})"
        )
    return lines


def eval_command(
    data: Annotated[Path, typer.Option("--data", help="The real image folder to compare with.")],
    run: Annotated[Optional[Path], typer.Option("--run", help="Draw samples from this run.")] = None,
    samples: Annotated[Optional[Path], typer.Option("--samples", help="A folder of synthetic images instead of a run.")] = None,
    n: Annotated[Optional[int], typer.Option("-n", help=f"Samples to draw with --run (default: {DEFAULTS.n}).")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help=f"domain (a classifier trained on --data) or inception (default: {DEFAULTS.features}).")] = None,
    downstream: Annotated[bool, typer.Option("--downstream", help="Also train a classifier on real vs real+synthetic (3 seeds).")] = False,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed for drawing samples (default: a fresh one).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help=f"auto, cpu, cuda, cuda:N or mps (default: {DEFAULTS.device}).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors and the result.")] = False,
) -> None:
    """FID, KID, precision/recall, near-copies and class fidelity of synthetic images.

    Example: ganaug eval --run runs/gan-0001 --data ./imgs --downstream
    """
    progress = setup_output(quiet)
    if (run is None) == (samples is None):
        raise typer.BadParameter("give exactly one of --run and --samples", param_hint="'--run' / '--samples'")
    flags = {"n": "-n", "features": "--features", "device": "--device"}
    settings = validate_flags(EvalCommandConfig, flags, n=n, features=features, device=device)
    if settings.features == "inception":
        require_weights()  # before any sampling or judge training
    torch_device = resolve_device(settings.device)
    if run is not None:
        loaded = load_sampling_model(resolve_checkpoint(run, None, DEFAULT_RUNS_ROOT), torch_device)
        seed = seed if seed is not None else secrets.randbelow(2**31)
        real, synthetic = synthetic_from_run(loaded, data, settings.n, seed, progress)
        cache = loaded.run_dir / "eval"
    else:
        real, synthetic = synthetic_from_folder(samples, data, progress)
        cache = None
    report = evaluate(
        real, synthetic, classifier_cache=cache, features=settings.features, downstream=downstream, device=torch_device
    )
    if as_json:
        print_result(json.dumps(report))
    else:
        for line in _format(report):
            print_result(line)
