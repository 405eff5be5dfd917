"""The outcome of each of the theory's claims on one landscape at one point.

A :class:`LandscapeVerdict` is what a claim comes to at a point (holds, fails, or cannot be
evaluated, and whether the theory predicts it there); :func:`landscape_verdicts` builds them
from the curvatures :func:`plasticity.checks.landscape.analysis.analyse` measured.  The main claim is
eq9a (ratio = √(Q[Δε]/Q[Δc])) checked against eq11 (ratio ≤ 1 ⇔ Q[Δc] ≥ Q[Δε]); the noisy
gradient claim is table 2's ordering of the ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

from plasticity.derivations import closed_forms
from plasticity.numerics.landscapes import EPS

__all__ = ["STATIONARY", "UNDECIDED", "LandscapeVerdict", "Precision", "landscape_verdicts"]

#: the detail of a claim that is undefined because ∇F is noise at the point
STATIONARY = "undefined at a stationary point"
#: the detail of a claim whose comparison lies within the error of the figures it compares
UNDECIDED = "undecided at this precision"


@dataclass(frozen=True)
class Precision:
    """Half-widths of the intervals a sampled (matrix-free) verdict is decided on, at the stated
    confidence: of Q[Δc], of E[Q[Δε]], and of their difference Q[Δc] − E[Q[Δε]] (None when the
    two are one estimate, so that their difference is exact: zeroth-order compensation)."""

    q_c: float
    q_eps: float
    diff: float | None


@dataclass(frozen=True)
class LandscapeVerdict:
    """The outcome of one claim on this landscape at the point (not the claim itself):
    ``holds`` is None when it cannot be evaluated here.

    ``applies`` is False when the theory makes no prediction: eq9a's conditions fail
    (Q[Δc] or Q[Δε] undefined or not positive; ∇²F ⪰ 0 guarantees them, an indefinite
    Hessian does not), or the rule is one for which the theory does not claim ratio ≤ 1
    (Newton, beeline).  The claim is then not guaranteed, and ``detail`` says why.
    """

    id: str
    statement: str
    holds: bool | None
    applies: bool
    detail: str


_STATEMENT = (
    "{rule}: the optimal compensation is smaller than the fluctuation, ‖Δc‖*/‖Δε‖ = "
    "√(Q[Δε]/Q[Δc]) ≤ 1 ⇔ Q[Δc] ≥ Q[Δε] (eq9a, eq11)"
)
#: rules whose direction is built from ∇F: undefined at a stationary point
_FROM_GRADIENT = ("gradient", "newton", "noisy_gradient")


def _main_claim(
    rule: str,
    q_c: float | None,
    q_eps: float,
    ratio: float | None,
    highly: bool,
    state: str,
    lam_min: float,
    q_tol: float,
    stationary: bool,
    precision: Precision | None = None,
) -> LandscapeVerdict:
    cid = f"main_claim.{rule}"
    statement = _STATEMENT.format(rule=rule)
    if q_c is None and stationary and rule in _FROM_GRADIENT:
        why = "‖∇F‖ is within its error bound, so ∇F has no direction to compensate along"
        return LandscapeVerdict(cid, statement, None, False, f"{STATIONARY}: {why}")
    if precision is not None and q_c is not None:
        undecided = _undecided(q_c, q_eps, precision)
        if undecided:
            return LandscapeVerdict(cid, statement, None, True, f"{UNDECIDED}: {undecided}")
    if q_c is None or not (q_c > 0 and q_eps > 0):
        why = (
            f"Q[Δc] is undefined for {rule} compensation here"
            if q_c is None
            else f"eq9a needs Q[Δc] > 0 and E[Q[Δε]] > 0, not guaranteed at this point ({state}); "
            f"here Q[Δc] = {q_c:.6g}, E[Q[Δε]] = {q_eps:.6g}"
        )
        return LandscapeVerdict(cid, statement, None, False, f"cannot be evaluated: {why}")
    detail = f"Q[Δc] = {q_c:.6g}, E[Q[Δε]] = {q_eps:.6g}, predicted ratio {ratio:.6g}"
    suffix = (
        ""
        if highly
        else f" (the Hessian is indefinite, λ_min = {lam_min:.4g}, but both Q are positive: eq9a applies)"
    )
    if abs(q_c - q_eps) <= q_tol:
        # Q[Δc] = Q[Δε] up to the error of the curvatures themselves: the ratio is 1, the
        # boundary case of ≤ 1 (e.g. random-direction compensation, or Newton with equal
        # projections), and neither closed form can resolve it further
        detail += f" = 1 within the curvature error (|Q[Δc] − Q[Δε]| ≤ {q_tol:.2g})"
        return LandscapeVerdict(cid, statement, True, True, detail + suffix)
    holds = bool(closed_forms.main_claim_holds(Q_c=q_c, Q_eps=q_eps))
    # eq9a and eq11 are two closed forms of one statement: they must agree
    if (ratio <= 1) != holds:
        return LandscapeVerdict(
            cid,
            statement,
            False,
            True,
            f"{detail}: eq9a gives ratio {'≤' if ratio <= 1 else '>'} 1 but eq11 says the claim "
            f"{'holds' if holds else 'fails'} -- the closed forms disagree",
        )
    detail += " ≤ 1" if holds else " > 1"
    return LandscapeVerdict(cid, statement, holds, True, detail + suffix)


def _undecided(q_c: float, q_eps: float, p: Precision) -> str:
    """Why eq9a/eq11 cannot be decided from intervals of these half-widths ('' if it can)."""
    if p.q_c == float("inf"):
        return f"Q[Δc] = {q_c:.6g} has no error bound here (see the notes), so no comparison is decided"
    if abs(q_c) <= p.q_c:
        return f"Q[Δc] = {q_c:.6g} ± {p.q_c:.2g} contains 0 (eq9a needs Q[Δc] > 0)"
    if abs(q_eps) <= p.q_eps:
        return f"E[Q[Δε]] = {q_eps:.6g} ± {p.q_eps:.2g} contains 0 (eq9a needs E[Q[Δε]] > 0)"
    if p.diff is not None and abs(q_c - q_eps) <= p.diff:
        return (
            f"Q[Δc] − E[Q[Δε]] = {q_c - q_eps:.3g} ± {p.diff:.2g}: the interval straddles 0, i.e. the "
            "ratio's interval straddles the eq11 boundary 1"
        )
    return ""


_STEPS = {"newton": "Newton step −(∇²F)⁻¹∇F", "beeline": "beeline w* − w"}


def landscape_verdicts(
    q_by_rule: dict[str, float | None],
    predicted: dict[str, float | None],
    q_eps: float,
    noisy: list[dict[str, float | None]],
    highly: bool,
    partially: bool | None,
    lam_min: float,
    state: str,
    q_tol: float,
    stationary: bool,
    minimum_known: bool,
    precision: dict[str, Precision] | None = None,
) -> list[LandscapeVerdict]:
    """Each claim's outcome at the point, from the curvatures measured there.

    ``q_by_rule`` and ``predicted`` hold Q[Δc] and the eq9a ratio per rule (None where
    undefined), ``noisy`` the noisy gradient entries per noise level; ``q_tol`` is the error
    of a difference of two Q's.  The Newton and beeline outcomes are reported, never
    predictions (``applies`` False): the theory claims no ratio bound for them.

    ``precision`` (matrix-free reports, whose figures are sampled or bounded) gives each rule's
    interval half-widths: a comparison within them is "undecided at this precision", never
    a verdict.  ``partially`` is None when Tr/N is within its error of 0.
    """
    precision = precision or {}
    trained: bool | None = True if highly else partially
    positivity_detail = f"λ_min = {lam_min:.6g}, Tr/N = {q_eps:.6g}: {state}"
    if trained is None:
        positivity_detail = f"{UNDECIDED}: λ_min < 0 and Tr/N is within its error of 0 ({positivity_detail})"
    claims = [
        LandscapeVerdict(
            "si_positivity.trained",
            "the point is trained: ∇²F ⪰ 0 (highly trained) gives Q ≥ 0 for every direction, "
            "Tr(∇²F) > 0 (partially trained) gives E[Q[Δε]] > 0",
            trained,
            True,
            positivity_detail,
        )
    ]

    def main(rule: str) -> LandscapeVerdict:
        return _main_claim(
            rule,
            q_by_rule[rule],
            q_eps,
            predicted[rule],
            highly,
            state,
            lam_min,
            q_tol,
            stationary,
            precision.get(rule),
        )

    claims.extend(main(rule) for rule in ("gradient", "zeroth_order", "noisy_gradient"))
    # The theory does not predict ratio ≤ 1 for Newton compensation (si_newton: it is the one
    # rule whose optimal ratio can exceed 1), nor for the beeline, which is Newton's step on a
    # quadratic, so these verdicts are reported, not expected.
    for rule in ("newton", "beeline") if minimum_known else ("newton",):
        c = main(rule)
        claims.append(
            LandscapeVerdict(
                c.id,
                c.statement + f"; {_STEPS[rule]}; not predicted by the theory (si_newton)",
                c.holds,
                False,
                c.detail + " (reported only: the theory does not claim ratio ≤ 1 for this rule)",
            )
        )
    claims.append(_noisy_claim(noisy, predicted["gradient"], stationary))
    return claims


def _noisy_claim(
    noisy: list[dict[str, float | None]], r_gradient: float | None, stationary: bool
) -> LandscapeVerdict:
    cid = "table2.noisy_gradient"
    statement = (
        "noisy gradient compensation's best ratio lies between the gradient's and 1, and moves "
        "monotonically towards 1 as the noise-to-signal ratio grows (si_noisy, table 2)"
    )
    ratios = [e["predicted_ratio"] for e in sorted(noisy, key=lambda e: e["noise_to_signal"])]
    if r_gradient is None or any(r is None for r in ratios):
        why = f"{STATIONARY}: ∇F has no direction" if stationary else "cannot be evaluated"
        return LandscapeVerdict(cid, statement, None, False, f"{why}: a ratio is undefined (see main claims)")
    sequence = [r_gradient, *ratios, 1.0]
    lo, hi = min(r_gradient, 1.0), max(r_gradient, 1.0)
    # between: a weighted mean of Q[∇F] and Q[ν] can only leave [lo, hi] by rounding (~eps)
    slack = 8 * EPS * hi
    between = all(lo - slack <= r <= hi + slack for r in ratios)
    distance = [abs(r - 1.0) for r in sequence]
    monotone = all(a >= b - slack for a, b in zip(distance, distance[1:], strict=False))
    levels = ", ".join(f"{e['noise_to_signal']:g}: {e['predicted_ratio']:.4g}" for e in noisy)
    detail = f"gradient ratio {r_gradient:.4g}; noise-to-signal → ratio {levels}"
    if not between:
        detail += "; a noisy ratio lies outside [gradient ratio, 1]"
    if not monotone:
        detail += "; the ratios do not approach 1 monotonically"
    # every ratio is defined, so eq9a's conditions hold for every noise level: a prediction
    return LandscapeVerdict(cid, statement, between and monotone, True, detail)
