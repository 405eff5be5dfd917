"""The landscape report as the text table `plasticity landscape` prints."""

from __future__ import annotations

import math

from plasticity.checks.landscape.analysis import REFERENCE_NOISE_TO_SIGNAL, LandscapeReport
from plasticity.checks.landscape.verdicts import STATIONARY

__all__ = ["format_text"]


def _f(x: float | None, spec: str = ".4g") -> str:
    return "undefined" if x is None or not math.isfinite(x) else format(x, spec)


def _pm(x: float | None, se: float | None) -> str:
    """x ± se to the precision of se (x alone where se is undefined)."""
    if x is None or not math.isfinite(x):
        return "undefined"
    if se is None or not math.isfinite(se):
        return f"{x:.3g}"
    return f"{x:.3f} ± {se:.3f}"


def _noisy_reference_q(report: LandscapeReport) -> float | None:
    for e in report.noisy_gradient:
        if e["noise_to_signal"] == REFERENCE_NOISE_TO_SIGNAL:
            return e["expected_Q"]
    return None


def format_text(report: LandscapeReport) -> str:
    """The report as a readable text table."""
    lines = [
        f"landscape     {report.source}  ({report.kind})",
        f"N             {report.n_params}",
        f"F(w)          {_f(report.loss, '.6g')}     ‖∇F‖ = {_f(report.grad_norm, '.4g')}"
        + ("  (stationary: within its error bound)" if report.stationary else ""),
        f"Tr(∇²F)/N     {_f(report.trace_over_n, '.6g')}",
        f"eigenvalues   λ_min = {_f(report.lambda_min, '.4g')}, λ_max = {_f(report.lambda_max, '.4g')}"
        f"  → {report.training_state}",
        "",
        f"{'rule':<28}{'Q[Δc]':>12}{'ratio (eq9a)':>14}  main claim (eq11: ratio ≤ 1)",
    ]
    claims = {c.id: c for c in report.claims}

    def verdict(rule: str) -> str:
        c = claims.get(f"main_claim.{rule}")
        if c is None or c.holds is None:
            return STATIONARY if c is not None and c.detail.startswith(STATIONARY) else "cannot be evaluated"
        text = "holds" if c.holds else "fails"
        return text + ("" if c.applies else " (not a prediction here)")

    rows = [
        ("fluctuation E[Q[Δε]]", report.q_eps, None, ""),
        ("gradient", report.q_gradient, report.predicted_ratio["gradient"], verdict("gradient")),
        ("newton (−(∇²F)⁻¹∇F)", report.q_newton, report.predicted_ratio["newton"], verdict("newton")),
        (
            "zeroth order",
            report.q_zeroth_order,
            report.predicted_ratio["zeroth_order"],
            verdict("zeroth_order"),
        ),
        (
            f"noisy gradient (γ₂/γ₁={REFERENCE_NOISE_TO_SIGNAL:g})",
            _noisy_reference_q(report),
            report.predicted_ratio["noisy_gradient"],
            verdict("noisy_gradient"),
        ),
    ]
    if "main_claim.beeline" in claims:  # only with a known minimum w*
        rows.insert(
            3, ("beeline (w* − w)", report.q_beeline, report.predicted_ratio["beeline"], verdict("beeline"))
        )
    for name, q, r, v in rows:
        q_text = _f(q) if name != "fluctuation E[Q[Δε]]" or q is not None else ""
        lines.append(f"{name:<28}{q_text:>12}{'' if r is None and not v else _f(r):>14}  {v}")
    lines.append("")
    lines.append("noisy gradient compensation (si_noisy):  γ₂/γ₁   E[Q[Δc]]   ratio")
    for e in report.noisy_gradient:
        lines.append(
            f"{'':<41}{e['noise_to_signal']:>5g}  {_f(e['expected_Q']):>9}  {_f(e['predicted_ratio']):>6}"
        )
    lines.append("")
    lines.append("claims:")
    for c in report.claims:
        status = {True: "HOLDS", False: "FAILS", None: "N/A"}[c.holds]
        if not c.applies and c.holds is not None:
            status += "*"
        lines.append(f"  {status:<7}{c.id}: {c.detail}")
    if any(not c.applies and c.holds is not None for c in report.claims):
        lines.append("  (* reported, but not a prediction of the theory at this point)")
    if report.simulation is not None:
        lines.append("")
        sim = report.simulation
        lines.append(
            f"simulation: ‖Δε‖ = {sim['eps_norm']:.4g}, ratios {sim['ratios'][0]:g}…{sim['ratios'][-1]:g}, "
            f"{sim['steps']} steps, {sim['reps']} reps, steady state = last {sim['window']} steps, "
            f"seed {sim['seed']}"
        )
        lines.append(
            f"  {'rule':<16}{'predicted':>10}{'simulated (min ‖∇F‖)':>22}  {'agreement':<22}"
            f"{'self-consistent':>15}{'min loss at':>16}"
        )
        for rule, r in sim["rules"].items():
            if "error" in r:
                lines.append(f"  {rule:<16}not simulated: {r['error']}")
                continue
            agree = r["agreement"]
            verdict = agree["verdict"] + (f" ({agree['z']:.1f} s.e.)" if agree["z"] is not None else "")
            lines.append(
                f"  {rule:<16}{_f(r['predicted_ratio']):>10}"
                f"{_pm(r['grad_norm_minimiser'], r['grad_norm_minimiser_se']):>22}  {verdict:<22}"
                f"{_f(r['self_consistent_ratio']):>15}{_pm(r['loss_minimiser'], r['loss_minimiser_se']):>16}"
            )
        lines.append(
            f"  (± bootstrap standard error over repetitions; agreement: within {sim['agreement_z']:g} s.e.;"
        )
        lines.append(
            "   undecided: no prediction, no spread across repetitions, or a best ratio at the grid's end)"
        )
    if report.notes:
        lines.append("")
        lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)
