"""The landscape report as the text table `plasticity landscape` prints."""

from __future__ import annotations

import math

from plasticity.checks.landscape.analysis import REFERENCE_NOISE_TO_SIGNAL, LandscapeReport
from plasticity.checks.landscape.verdicts import STATIONARY, UNDECIDED

__all__ = ["format_text"]


def _f(x: float | None, spec: str = ".4g") -> str:
    return "undefined" if x is None or not math.isfinite(x) else format(x, spec)


def _pm_se(x: float | None, se: float | None) -> str:
    """x ± se (a simulated ratio with its bootstrap standard error; x alone where se is undefined)."""
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


def _pm(report: LandscapeReport, key: str, value: float | None, spec: str = ".4g") -> str:
    """``value`` with its error from the matrix-free report's uncertainty (± bound + z·s.e.)."""
    u = report.uncertainty.get(key)
    if value is None or u is None:
        return _f(value, spec)
    if u["bound"] is None:
        return f"{_f(value, spec)} ± unbounded"
    z = float((report.matrix_free or {}).get("confidence_z", 0.0))
    return f"{_f(value, spec)} ± {float(u['bound']) + z * float(u['stderr']):.2g}"


def _interval(report: LandscapeReport, rule: str, ratio: float | None) -> str:
    iv = ((report.matrix_free or {}).get("ratio_interval") or {}).get(rule)
    if ratio is None or iv is None:
        return _f(ratio)
    lo, hi = iv
    return f"{_f(ratio)} [{_f(lo, '.3g')}, {'∞' if hi is None else _f(hi, '.3g')}]"


def _matrix_free_header(report: LandscapeReport) -> list[str]:
    mf = report.matrix_free or {}
    z = mf.get("confidence_z")
    tr = report.uncertainty.get("trace_over_n", {})
    res = mf.get("lanczos_residuals", [None, None])
    lines = [
        f"method        matrix-free: {mf.get('operator')}; {mf.get('hvp_products')} HVPs; every ± is a "
        f"bound plus z = {z:g} standard errors",
        f"F(w)          {_f(report.loss, '.6g')}     ‖∇F‖ = {_f(report.grad_norm, '.4g')} "
        f"(error ≤ {report.grad_error_bound:.2g})"
        + ("  (stationary: within its error bound)" if report.stationary else ""),
        f"Tr(∇²F)/N     {_pm(report, 'trace_over_n', report.trace_over_n, '.6g')}  ("
        + (
            f"s.e. {tr.get('stderr', 0):.2g}, {mf.get('trace_probes')} Hutchinson probes"
            + (f" after {mf.get('trace_sketch')} sketched directions" if mf.get("trace_sketch") else "")
            + ", "
            + (
                "every comparison decided"
                if mf.get("trace_decided")
                else "comparisons undecided at the probe cap"
            )
            if tr.get("stderr")
            else str(tr.get("how", ""))
        )
        + ")",
        f"eigenvalues   λ_min = {_pm(report, 'lambda_min', report.lambda_min)}, "
        f"λ_max = {_pm(report, 'lambda_max', report.lambda_max)}  (Lanczos residuals "
        f"{_f(res[0], '.2g')}, {_f(res[1], '.2g')})  → {report.training_state}",
    ]
    if mf.get("newton_relative_residual") is not None:
        lines.append(
            f"Newton step   MINRES, {mf.get('newton_iterations')} iterations, ‖∇²F s + ∇F‖/‖∇F‖ = "
            f"{mf['newton_relative_residual']:.2g}"
        )
    return lines


def format_text(report: LandscapeReport) -> str:
    """The report as a readable text table (matrix-free: every figure with its error, each
    ratio with its interval)."""
    mf = report.method == "matrix-free"
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
    if mf:
        lines[2:5] = _matrix_free_header(report)
        lines[-1] = f"{'rule':<28}{'Q[Δc]':>22}{'ratio (eq9a) [interval]':>28}  main claim (eq11: ratio ≤ 1)"
    claims = {c.id: c for c in report.claims}

    def verdict(rule: str) -> str:
        c = claims.get(f"main_claim.{rule}")
        if c is None or c.holds is None:
            for reason in (STATIONARY, UNDECIDED):
                if c is not None and c.detail.startswith(reason):
                    return reason
            return "cannot be evaluated"
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
    keys = {"fluctuation E[Q[Δε]]": ("trace_over_n", None), "gradient": ("q_gradient", "gradient")}
    keys.update(
        {"zeroth order": ("trace_over_n", "zeroth_order"), "beeline (w* − w)": ("q_beeline", "beeline")}
    )
    keys["newton (−(∇²F)⁻¹∇F)"] = ("q_newton", "newton")
    for name, q, r, v in rows:
        q_text = _f(q) if name != "fluctuation E[Q[Δε]]" or q is not None else ""
        if not mf:
            lines.append(f"{name:<28}{q_text:>12}{'' if r is None and not v else _f(r):>14}  {v}")
            continue
        key, rule = keys.get(name, ("q_noisy_gradient", "noisy_gradient"))
        q_text = _pm(report, key, q)
        r_text = "" if rule is None else _interval(report, rule, r)
        lines.append(f"{name:<28}{q_text:>22}{r_text:>28}  {v}")
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
        if c.holds is None and c.detail.startswith(UNDECIDED):
            status = "UNDECIDED"
        if not c.applies and c.holds is not None:
            status += "*"
        lines.append(f"  {status:<7}{' ' if len(status) >= 7 else ''}{c.id}: {c.detail}")
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
                f"{_pm_se(r['grad_norm_minimiser'], r['grad_norm_minimiser_se']):>22}  {verdict:<22}"
                f"{_f(r['self_consistent_ratio']):>15}"
                f"{_pm_se(r['loss_minimiser'], r['loss_minimiser_se']):>16}"
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
