"""Table 2: the optimal plasticity ratio for each kind of learning rule.

Registers ``table2``, assembled from the other results (eq9a, eq12, eq14, si_newton, si_noisy,
si_zeroth_order, lemma_average_case) by substitution: nothing here is retyped.  The Q[Δε] of
every row is eq12's Tr/N (isotropic fluctuations).
"""

from __future__ import annotations

import sympy as sp

from plasticity.derivations.core import Check, Condition, Result, Step, derivation, get
from plasticity.derivations.curvature import N, at_n, i, lam_pos, total

T = sp.Symbol("T", positive=True)  # Tr ∇²F > 0
delta = sp.Symbol("delta", nonnegative=True)  # Q[∇F] − Tr/N ≥ 0 (eq14 / lemma_average_case)
r = sp.Symbol("r", positive=True)  # ‖ν‖/‖Δc̃‖


def _subs_by_name(result_id: str, **values: sp.Expr) -> sp.Expr:
    """The closed form of ``result_id`` with its arguments, named as in closed_forms, replaced."""
    res = get(result_id)
    names = dict(zip(res.arg_names, res.args, strict=True))
    return res.closed_form.subs({names[k]: v for k, v in values.items()}, simultaneous=True)


def _ratio(Q_eps: sp.Expr, Q_c: sp.Expr) -> sp.Expr:
    return _subs_by_name("eq9a", Q_eps=Q_eps, Q_c=Q_c)


@derivation("table2")
def table2() -> Result:
    checks, steps = [], []
    q_eps = _subs_by_name("eq12", trace_H=T, n=N)
    # zeroth order
    q_zero = _subs_by_name("si_zeroth_order", trace_H=T, n=N)
    zero = sp.simplify(_ratio(q_eps, q_zero))
    checks.append(Check("zeroth order: ratio = 1", zero == 1, str(zero)))
    # gradient: Q[∇F] = Tr/N + δ with δ ≥ 0 (eq14 equal projections; lemma_average_case on average)
    q_grad = q_eps + delta
    grad = _ratio(q_eps, q_grad)
    grad_le = sp.simplify(grad**2 - 1)
    checks.append(
        Check("gradient: ratio² − 1 = −δ/(Tr/N + δ) ≤ 0", bool(grad_le.is_nonpositive), str(grad_le))
    )
    q_eq14 = at_n(get("eq14").closed_form, 3).subs({get("eq14").args[0][k]: k + 1 for k in range(3)})
    grad_example = sp.nsimplify(_ratio(sp.Integer(2), q_eq14))
    checks.append(
        Check(
            "gradient, equal projections, λ = (1, 2, 3): ratio < 1", bool(grad_example < 1), str(grad_example)
        )
    )
    # noisy gradient: Q̃ = Q[∇F] ≥ Tr/N, ν isotropic so Q_ν = Tr/N; r = ‖ν‖/‖Δc̃‖
    a = sp.Symbol("a", positive=True)
    q_noisy = sp.simplify(_subs_by_name("si_noisy", tilde_norm=a, nu_norm=r * a, Q_tilde=q_grad, Q_nu=q_eps))
    noisy = _ratio(q_eps, q_noisy)
    noisy_lim = sp.limit(noisy, r, sp.oo)
    noisy_0 = sp.simplify(noisy.subs(r, 0) - grad)
    checks.append(
        Check("noisy gradient: ratio → 1 as noise grows", sp.simplify(noisy_lim - 1) == 0, str(noisy_lim))
    )
    checks.append(Check("noisy gradient: ratio = gradient's at zero noise", noisy_0 == 0, str(noisy_0)))
    rising = sp.simplify(sp.diff(noisy**2, r))
    checks.append(
        Check("noisy gradient: ratio increases with noise", bool(rising.is_nonnegative), str(rising))
    )
    # Newton: near the optimum of a quadratic (M = ∇²F) Q[Δc] = Q[w − w*] → E = Tr/N, ratio 1;
    # far from it (M independent of ∇²F) Q[Δc] = Σλ⁻¹/Σλ⁻² ≤ Tr/N, ratio ≥ 1
    q_newton_near = _subs_by_name("eq12", trace_H=T, n=N)
    newton_near = sp.simplify(_ratio(q_eps, q_newton_near))
    checks.append(Check("Newton near optimum: ratio = 1", newton_near == 1, str(newton_near)))
    q_newton_far = get("si_newton").closed_form
    lam_n = get("si_newton").args[0]
    lam_example = {lam_n[k]: k + 1 for k in range(3)}
    far_example = sp.nsimplify(
        _ratio(at_n(total(lam_pos[i]) / N, 3).subs(lam_example), at_n(q_newton_far, 3).subs(lam_example))
    )
    checks.append(Check("Newton far, λ = (1, 2, 3): ratio > 1", bool(far_example > 1), str(far_example)))
    newton_far = _ratio(total(lam_pos[i]) / N, q_newton_far)
    steps.extend(
        [
            Step("Q[Δε] = Tr/N for every row (eq12)", sp.Eq(sp.Symbol(r"Q[\Delta\epsilon]"), q_eps)),
            Step("Zeroth order: E[Q[Δc]] = Tr/N (si_zeroth_order) in eq9a", sp.Eq(sp.Symbol("ratio"), zero)),
            Step("Gradient: Q[∇F] = Tr/N + δ, δ ≥ 0 (eq14, lemma_average_case) in eq9a", grad),
            Step("Noisy gradient: si_noisy's weighted mean with r = ‖ν‖/‖Δc̃‖ in eq9a", noisy),
            Step("… whose limit as r → ∞ is", sp.Eq(sp.Limit(noisy, r, sp.oo), noisy_lim)),
            Step("Newton far from the optimum (si_newton) in eq9a", newton_far),
        ]
    )
    labels = [
        sp.Symbol(rf"\text{{{t}}}")
        for t in (
            "rule",
            "zeroth order",
            "gradient",
            "noisy gradient",
            "Newton (near optimum)",
            "Newton (far)",
        )
    ]
    verdict = [sp.Symbol(t) for t in (r"\text{vs } 1", "= 1", r"\le 1", r"\nearrow 1", "= 1", r"\ge 1")]
    q_col = [sp.Symbol(r"Q[\Delta c]"), q_zero, q_grad, q_noisy, q_newton_near, q_newton_far]
    ratio_head = sp.Symbol(r"\|\Delta c\|^{*}/\|\Delta\epsilon\|")
    ratio_col = [ratio_head, zero, grad, noisy, newton_near, newton_far]
    table = sp.Matrix([[labels[k], q_col[k], ratio_col[k], verdict[k]] for k in range(6)])
    return Result(
        id="table2",
        title="Learning-rule summary (Table 2)",
        statement=table,
        conditions=(
            Condition("isotropic fluctuations, Tr ∇²F = T > 0, Q[Δc] > 0 (eq9a)"),
            Condition(
                "gradient row: Q[∇F] ≥ Tr/N (eq14 equal projections, or on average by lemma_average_case)"
            ),
            Condition(
                "Newton rows: ∇²F ≻ 0; 'near' means M = ∇²F with w − w* isotropic, 'far' M independent"
            ),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Each row substitutes that rule's Q[Δc] into eq9a; expected Q values stand in for Q.",),
        paper="Table 2",
    )
