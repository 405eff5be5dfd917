"""Variance of ΔF under an isotropic fluctuation, so Monte Carlo checks get exact error bars.

Registers ``var_dF``.  The fourth moments of a uniform direction on the sphere are derived
from Gaussian moments (g = r·u with r = ‖g‖ independent of the direction u), and the variance
of the second-order ΔF (eq2) follows in the Hessian's eigenbasis, for symbolic N, and is
re-checked by a full polynomial expectation at N = 2 and 3.
"""

from __future__ import annotations

import functools

import sympy as sp

from plasticity.derivations.core import Check, Condition, Result, Step, derivation, get
from plasticity.derivations.curvature import N, canonical, double_sum, i, j, total

eps_norm = sp.Symbol("eps_norm", nonnegative=True)
a_norm = sp.Symbol("a_norm", nonnegative=True)
trace_H = sp.Symbol("trace_H", real=True)
trace_H2 = sp.Symbol("trace_H2", nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)

#: relative slack on n·Tr(H²) ≥ (Tr H)²: the traces carry float64 summation error of about
#: N·ε relative, so 1e-9 admits spectra of up to ~4·10⁶ eigenvalues with equal values.
TRACE_SLACK = sp.Float(1e-9)


@functools.cache
def gaussian_moment(k: int) -> sp.Expr:
    """E[x^k] for x ~ N(0, 1), by integration."""
    x = sp.Symbol("x", real=True)
    return sp.integrate(x**k * sp.exp(-(x**2) / 2), (x, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi)


def sphere_moments() -> tuple[dict[str, sp.Expr], list[Step], list[Check]]:
    """E[u_i²], E[u_i⁴], E[u_i²u_j²] (i ≠ j) for u uniform on the unit sphere in R^N."""
    steps, checks = [], []
    g2, g4 = gaussian_moment(2), gaussian_moment(4)
    checks.append(Check("Gaussian moments E[x²] = 1, E[x⁴] = 3", (g2, g4) == (1, 3), f"{g2}, {g4}"))
    r2 = N * g2  # E[‖g‖²] = Σ E[g_i²]
    r4 = sp.expand(N * g4 + N * (N - 1) * g2 * g2)  # E[(Σ g_i²)²]: N diagonal, N(N−1) cross terms
    steps.append(Step("g ~ N(0, I_N): E[‖g‖²] and E[‖g‖⁴] = N·E[x⁴] + N(N−1)E[x²]²", sp.Tuple(r2, r4)))
    checks.append(Check("E[‖g‖⁴] = N(N+2)", sp.expand(r4 - N * (N + 2)) == 0, str(sp.factor(r4))))
    # g = r u with r independent of u: E[g-monomial] = E[r^deg] E[u-monomial]
    m2 = sp.simplify(g2 / r2)
    m4 = sp.simplify(g4 / r4)
    m22 = sp.simplify(g2 * g2 / r4)
    steps.append(
        Step(
            "g = ‖g‖·u with ‖g‖ independent of u, so E[u-monomial] = E[g-monomial]/E[‖g‖^degree]; "
            "odd moments vanish (g_i → −g_i)",
            sp.Tuple(
                sp.Eq(sp.Symbol("E[u_i^2]"), m2),
                sp.Eq(sp.Symbol("E[u_i^4]"), m4),
                sp.Eq(sp.Symbol("E[u_i^2 u_j^2]"), m22),
            ),
        )
    )
    checks.append(Check("E[u_i⁴] = 3/(N(N+2))", sp.simplify(m4 - 3 / (N * (N + 2))) == 0, str(m4)))
    checks.append(Check("E[u_i²u_j²] = 1/(N(N+2))", sp.simplify(m22 - 1 / (N * (N + 2))) == 0, str(m22)))
    norm4 = sp.simplify(N * m4 + N * (N - 1) * m22)
    checks.append(Check("Σ_ij E[u_i²u_j²] = E[‖u‖⁴] = 1", norm4 == 1, str(norm4)))
    return {"m2": m2, "m4": m4, "m22": m22, "r2": r2, "r4": r4}, steps, checks


def sphere_expectation(poly_expr: sp.Expr, u: list[sp.Symbol]) -> sp.Expr:
    """E over u uniform on the unit sphere in R^len(u) of a polynomial in u (any degree), from the
    Gaussian route: E[Π u_i^k_i] = Π E[x^k_i] / E[‖g‖^Σk]."""
    size = len(u)
    out = sp.Integer(0)
    for powers, coeff in sp.Poly(sp.expand(poly_expr), *u).terms():
        if any(p % 2 for p in powers):
            continue
        deg = sum(powers)
        num = sp.Mul(*[gaussian_moment(p) for p in powers])
        norm_moment = sp.Mul(*[size + 2 * k for k in range(deg // 2)])  # E[‖g‖^deg] = N(N+2)…
        out += coeff * num / norm_moment
    return sp.simplify(out)


@derivation("var_dF")
def var_dF() -> Result:
    moments, steps, checks = sphere_moments()
    m2, m4, m22 = moments["m2"], moments["m4"], moments["m22"]
    # ΔF (eq2) as a function of Δε: constant + aᵀΔε + ½ΔεᵀHΔε with a = ∇F + HΔc
    eq2 = get("eq2")
    names = dict(zip(eq2.arg_names, eq2.args, strict=True))
    H = sp.Matrix(2, 2, lambda r, s: sp.Symbol(f"h_{min(r, s)}{max(r, s)}", real=True))
    g = sp.Matrix(sp.symbols("g_0 g_1", real=True))
    dc = sp.Matrix(sp.symbols("c_0 c_1", real=True))
    de = sp.Matrix(sp.symbols("e_0 e_1", real=True))
    dw = dc + de
    dF = eq2.closed_form.subs(
        {names["g_dot_dw"]: (g.T * dw)[0, 0], names["dw_H_dw"]: (dw.T * H * dw)[0, 0]}, simultaneous=True
    )
    a_vec = g + H * dc
    const = dF.subs(dict.fromkeys(de, 0))
    split = const + (a_vec.T * de)[0, 0] + (de.T * H * de)[0, 0] / 2
    checks.append(Check("ΔF = const + aᵀΔε + ½ΔεᵀHΔε, a = ∇F + HΔc", sp.expand(dF - split) == 0, "N = 2"))
    steps.append(
        Step(
            "From eq2, the Δε-dependent part of ΔF is aᵀΔε + ½ΔεᵀHΔε with a = ∇F + ∇²FΔc; in the "
            "eigenbasis with Δε = s·u, X = s Σ a_i u_i + (s²/2) Σ λ_i u_i²"
        )
    )
    # general N with the sphere moments; Σ_{i≠j} λ_i λ_j = (Σλ)² − Σλ²
    s = sp.Symbol("s", nonnegative=True)
    A2, T, T2 = sp.symbols("A_2 T T_2", real=True)  # Σa², Σλ, Σλ²
    lam = sp.IndexedBase("lam", real=True)
    cross = sp.Sum(lam[i] * lam[j], (j, 0, N - 1), (i, 0, N - 1)) - total(lam[i] ** 2)
    off_diag = sp.simplify(canonical(double_sum(lam[i] * lam[j]) - total(lam[i] ** 2)))
    checks.append(
        Check(
            "Σ_{i≠j}λiλj = (Σλ)² − Σλ²",
            sp.expand(off_diag - canonical(total(lam[i]) ** 2 - total(lam[i] ** 2))) == 0,
            str(off_diag),
        )
    )
    mean_X = s**2 / 2 * T * m2
    mean_X2 = s**2 * A2 * m2 + s**4 / 4 * (T2 * m4 + (T**2 - T2) * m22)
    steps.append(
        Step(
            "E[X] = (s²/2)Σλ E[u_i²]; E[X²] = s²Σa_i²E[u_i²] + (s⁴/4)(Σλ_i²E[u_i⁴] + Σ_{i≠j}λ_iλ_j "
            "E[u_i²u_j²]) (odd moments vanish)",
            sp.Tuple(mean_X, mean_X2),
        )
    )
    steps.append(Step("Σ_{i≠j}λ_iλ_j", sp.Eq(cross, T**2 - T2)))
    var = sp.factor(sp.simplify(mean_X2 - mean_X**2))
    closed = eps_norm**2 * a_norm**2 / n + eps_norm**4 * (n * trace_H2 - trace_H**2) / (2 * n**2 * (n + 2))
    as_closed = closed.subs({eps_norm: s, a_norm: sp.sqrt(A2), trace_H: T, trace_H2: T2, n: N})
    checks.append(
        Check("Var X = E[X²] − E[X]² matches the closed form", sp.simplify(var - as_closed) == 0, "")
    )
    steps.append(Step("Var ΔF = E[X²] − E[X]²", sp.Eq(sp.Symbol(r"\operatorname{Var}\Delta F"), var)))
    # full expansion at N = 2, 3 with explicit a_i, λ_i
    for size in (2, 3):
        u = list(sp.symbols(f"u_0:{size}", real=True))
        av = sp.symbols(f"a_0:{size}", real=True)
        lv = sp.symbols(f"l_0:{size}", real=True)
        X = s * sum(a * x for a, x in zip(av, u, strict=True)) + s**2 / 2 * sum(
            ll * x**2 for ll, x in zip(lv, u, strict=True)
        )
        exact = sphere_expectation(X**2, u) - sphere_expectation(X, u) ** 2
        target = as_closed.subs(
            {A2: sum(a**2 for a in av), T: sum(lv), T2: sum(ll**2 for ll in lv), N: size}, simultaneous=True
        )
        checks.append(Check(f"Var by full expansion at N = {size}", sp.simplify(exact - target) == 0, ""))
    return Result(
        id="var_dF",
        title="Variance of ΔF under an isotropic fluctuation",
        statement=sp.Eq(sp.Symbol(r"\operatorname{Var}\Delta F"), closed),
        closed_form=closed,
        args=(eps_norm, a_norm, trace_H, trace_H2, n),
        conditions=(
            Condition("Δε uniform on the sphere of radius ‖Δε‖ (Δc, ∇F, ∇²F fixed)"),
            Condition("ΔF taken to second order (eq2)"),
            Condition(
                "n·Tr(H²) ≥ (Tr H)² (Cauchy–Schwarz on the eigenvalues), up to float64 rounding",
                sp.Ge(n * trace_H2 - trace_H**2, -TRACE_SLACK * n * trace_H2),
            ),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(
            "a_norm = ‖∇F + ∇²F Δc‖, trace_H = Tr ∇²F, trace_H2 = Tr (∇²F)², n = N.",
            "The sphere's moments differ from the Gaussian's: for Δε ~ N(0, ‖Δε‖²I/N) the quartic "
            "term would be ‖Δε‖⁴Tr(H²)/(2N²) instead.",
        ),
        paper="(not in the paper; used for exact Monte Carlo error bars)",
    )
