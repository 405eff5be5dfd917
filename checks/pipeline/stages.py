"""The stages of `plasticity reproduce`: derive, verify, figures 1/5/5s1, predictions, landscape.

Each stage is a module-level function of a :class:`~checks.pipeline.runner.StageContext`
that calls the library directly (the same functions the `plasticity` subcommands call) and
returns an exit status.  The landscape stage checks the built-in example shipped as package
data (``checks/pipeline/examples``), so it works from an installed package as from a checkout.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import shlex
import shutil
from importlib.resources.abc import Traversable
from pathlib import Path

from plasticity.checks.pipeline.runner import Stage, StageContext

__all__ = ["EXAMPLES", "SCALES", "default_stages", "landscape_command"]

#: scale -> verify profile
SCALES: dict[str, str] = {"quick": "ci", "full": "thorough"}

#: the built-in landscape example (package data): a quadratic with spectrum
#: geomspace(0.01, 1), N = 50 (hessian.npy), at a point with equal projections on every
#: eigenvector (point_equal.npy); written by examples/make_hessian.py
EXAMPLES: Traversable = importlib.resources.files("plasticity.checks.pipeline") / "examples"
_HESSIAN, _POINT = "hessian.npy", "point_equal.npy"


def _stage_derive(ctx: StageContext) -> int:
    from plasticity.checks.derive import derive
    from plasticity.checks.report import derivations_document
    from plasticity.numerics.files import atomic_write_text

    status = derive(ctx.out)
    if status != 0:
        return status
    from plasticity import derivations

    doc = derivations_document(derivations.all_results())
    atomic_write_text(ctx.out / "derivations.json", json.dumps(doc, indent=2) + "\n")
    return 0


def _stage_verify(ctx: StageContext) -> int:
    from plasticity.checks.verify import verify

    return verify(SCALES[ctx.scale], json=str(ctx.out / "claims.json"))


def _figure(key: str, ctx: StageContext) -> int:
    from plasticity.checks.pipeline.figures import run_figure

    checkpoint = None
    if ctx.scale == "full" and key != "1":
        # the sweep checkpoints its finished chunks here, so an interrupted stage resumes
        checkpoint = ctx.out / "checkpoints" / f"fig{key}"
        if ctx.force and checkpoint.exists():
            shutil.rmtree(checkpoint)
    run_figure(key, ctx.out, scale=ctx.scale, checkpoint_dir=checkpoint)
    return 0


def _stage_figure1(ctx: StageContext) -> int:
    return _figure("1", ctx)


def _stage_figure5(ctx: StageContext) -> int:
    return _figure("5", ctx)


def _stage_figure5s1(ctx: StageContext) -> int:
    return _figure("5s1", ctx)


def _stage_predictions(ctx: StageContext) -> int:
    from plasticity.checks.pipeline.predictions import write_predictions

    return write_predictions(ctx.out)


def _stage_landscape(ctx: StageContext) -> int:
    from plasticity.checks.landscape.run import check_landscape

    with contextlib.ExitStack() as stack:
        hessian = stack.enter_context(importlib.resources.as_file(EXAMPLES / _HESSIAN))
        point = stack.enter_context(importlib.resources.as_file(EXAMPLES / _POINT))
        check_landscape(
            str(hessian), at=str(point), minimum="0", simulate=True, json=str(ctx.out / "landscape.json")
        )
    return 0


def landscape_command() -> str:
    """The `plasticity landscape` command line the landscape stage amounts to (for the report).

    The example files are named relative to the directory holding the ``checks`` package
    (the repository root in a checkout).
    """
    from plasticity import checks

    root = Path(checks.__file__).resolve().parent.parent

    def shown(name: str) -> str:
        path = Path(str(EXAMPLES / name)).resolve()
        with contextlib.suppress(ValueError):
            path = path.relative_to(root)
        return shlex.quote(str(path))

    return (
        f"plasticity landscape {shown(_HESSIAN)} --at {shown(_POINT)} --minimum 0 --simulate "
        "--json DIR/landscape.json"
    )


def default_stages(scale: str) -> list[Stage]:
    """The stages of `plasticity reproduce` at ``scale`` (``quick`` or ``full``)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    fig_outputs = {
        k: (f"fig{k}.png", f"fig{k}.pdf", f"fig{k}.csv", f"fig{k}.json") for k in ("1", "5", "5s1")
    }
    return [
        Stage(
            "derive",
            "derive every result with SymPy",
            _stage_derive,
            ("derivations.md", "derivations.tex", "closed_forms.json", "derivations.json"),
            command="plasticity derive --out DIR",
        ),
        Stage(
            "verify",
            f"verify the claims ({SCALES[scale]} profile)",
            _stage_verify,
            ("claims.json",),
            command=f"plasticity verify --profile {SCALES[scale]} --json DIR/claims.json",
        ),
        Stage(
            "figure1",
            "figure 1",
            _stage_figure1,
            fig_outputs["1"],
            command=f"plasticity figure 1 --{scale} --out DIR",
        ),
        Stage(
            "figure5",
            "figure 5",
            _stage_figure5,
            (*fig_outputs["5"], "fig5_predicted.csv"),
            command=f"plasticity figure 5 --{scale} --out DIR",
        ),
        Stage(
            "figure5s1",
            "figure 5, supplement 1",
            _stage_figure5s1,
            (*fig_outputs["5s1"], "fig5s1_predicted.csv"),
            command=f"plasticity figure 5s1 --{scale} --out DIR",
        ),
        Stage(
            "predictions",
            "predicted against simulated best ratios",
            _stage_predictions,
            ("predictions.json", "predictions.csv"),
            deps=("figure5", "figure5s1"),
        ),
        Stage(
            "landscape",
            "landscape check on a built-in example",
            _stage_landscape,
            ("landscape.json",),
            command=landscape_command(),
        ),
    ]
