"""Curvature results: what Q[Δc] is for each kind of compensatory plasticity.

Registers eq12, eq13, eq14, si_mean_hessian, si_newton, si_noisy, si_zeroth_order,
si_positivity and lemma_average_case.  Results about spectra are written in the Hessian's
eigenbasis with ``Sum`` over an ``IndexedBase`` (``lam[i]``, ``c[i]``, ``d[i]``); their
numeric forms sum over the last axis of batched arrays of shape ``(..., N)``.  Sum
identities are proved for every N by :mod:`derivations.arrays` (linearity and
separability of finite sums) and re-checked by full expansion at N = 2, 3, 4.
"""

from __future__ import annotations

import sympy as sp

from plasticity.derivations.arrays import (
    SMALL_N,
    N,
    _is_zero,
    array_form,
    array_numeric,
    at_n,
    canonical,  # noqa: F401 (derivations.variance imports it from here)
    double_sum,
    general_check,
    i,
    identity_check,
    j,
    shapes_condition,
    total,
)
from plasticity.derivations.core import Check, Condition, Result, Step, derivation, get

# --------------------------------------------------------------------------- symbols

lam = sp.IndexedBase("lam", real=True)  # Hessian eigenvalues λ_i (ascending)
lam_pos = sp.IndexedBase("lam", positive=True)  # eigenvalues of an invertible H ≻ 0
c = sp.IndexedBase("c", real=True)  # coordinates of w − w* in the eigenbasis
d = sp.IndexedBase("d", real=True)  # coordinates of ∇F in the eigenbasis

trace_H = sp.Symbol("trace_H", real=True)
n = sp.Symbol("n", integer=True, positive=True)


def _symmetric_matrix(size: int, name: str = "h") -> sp.Matrix:
    return sp.Matrix(size, size, lambda r, s: sp.Symbol(f"{name}_{min(r, s)}{max(r, s)}", real=True))


def _vector(size: int, name: str) -> sp.Matrix:
    return sp.Matrix([sp.Symbol(f"{name}_{r}", real=True) for r in range(size)])


def _diag(*values: sp.Expr) -> sp.Matrix:
    """Diagonal matrix (``sp.diag`` probes ``.shape``, which an ``Indexed`` entry refuses)."""
    size = len(values)
    return sp.Matrix(size, size, lambda r, s: values[r] if r == s else 0)


def _rotation(t: sp.Symbol) -> sp.Matrix:
    """Every rotation of the plane but the half-turn, rationally (Cayley: t = tan(θ/2))."""
    return sp.Matrix([[1 - t**2, -2 * t], [2 * t, 1 - t**2]]) / (1 + t**2)


def Q_of(H: sp.Matrix, v: sp.Matrix) -> sp.Expr:
    """The curvature operator Q[v] = vᵀHv / vᵀv on explicit matrices (eq5)."""
    return (v.T * H * v)[0, 0] / (v.T * v)[0, 0]


def isotropic_expectation(expr: sp.Expr, u: sp.Matrix) -> sp.Expr:
    """E over a random unit direction u with E[u]=0, E[uuᵀ]=I/N of a polynomial of degree <= 2
    in u (the moments derived in eq12); N = len(u)."""
    size = len(u)
    poly = sp.Poly(sp.expand(expr), *u)
    out = sp.Integer(0)
    for powers, coeff in poly.terms():
        deg = sum(powers)
        if deg == 0:
            out += coeff
        elif deg == 2 and max(powers) == 2:
            out += coeff / size
        elif deg > 2:
            raise ValueError("isotropic_expectation: only moments up to degree 2 are used here")
    return out


# --------------------------------------------------------------------------- eq12

E_Q_eps = sp.Symbol(r"\mathbb{E}\,Q[\Delta\epsilon]")


@derivation("eq12")
def expected_Q_isotropic() -> Result:
    checks, steps = [], []
    # second moments of an isotropic unit direction, from symmetry alone
    m = sp.Symbol("m")
    moment = sp.solve(sp.Eq(N * m, 1), m)[0]
    steps.append(
        Step(
            "Isotropy: E[û_i û_j] = −E[û_i û_j] = 0 for i ≠ j (flip the sign of û_i); the N diagonal "
            "moments are equal (permute coordinates) and sum to E[‖û‖²] = 1, so E[û_i²] solves N·m = 1",
            sp.Eq(m, moment),
        )
    )
    checks.append(Check("second moment 1/N", moment == 1 / N, str(moment)))
    # Q is scale invariant, so Q[Δε] = ûᵀHû; its mean is Tr(H E[ûûᵀ]) = Tr(H)/N
    s = sp.Symbol("s", positive=True)
    H3, u3 = _symmetric_matrix(3), _vector(3, "u")
    scaled = Q_of(H3, s * u3) - Q_of(H3, u3)
    checks.append(Check("Q[s u] = Q[u]", _is_zero(scaled), "scale invariance of eq5"))
    quad = (u3.T * H3 * u3)[0, 0]
    mean3 = isotropic_expectation(quad, u3)
    checks.append(Check("E[uᵀHu] = Tr(H)/3 at N=3", _is_zero(mean3 - H3.trace() / 3), str(mean3)))
    Hs = sp.MatrixSymbol("H", N, N)
    general = sp.simplify(sp.Trace(Hs * moment * sp.Identity(N)))
    steps.append(Step("E[ΔεᵀHΔε]/‖Δε‖² = Tr(H·E[ûûᵀ]) = Tr(H·I/N)", sp.Eq(E_Q_eps, general)))
    checks.append(Check("Tr(H I/N) = Tr(H)/N", _is_zero(general - sp.Trace(Hs) / N), str(general)))
    closed = trace_H / n
    as_general = closed.subs({trace_H: sp.Trace(Hs), n: N})
    checks.append(Check("closed form = derived Tr(H)/N", _is_zero(as_general - general), str(as_general)))
    return Result(
        id="eq12",
        title="Expected curvature along an isotropic fluctuation",
        statement=sp.Eq(E_Q_eps, closed),
        closed_form=closed,
        args=(trace_H, n),
        conditions=(Condition("Δε isotropic: its direction û has E[ûûᵀ] = I/N, whatever the law of ‖Δε‖"),),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("trace_H = Tr(∇²F), n = N the number of weights.",),
        paper="eq12",
    )


# --------------------------------------------------------------------------- eq13

Q_grad = sp.Symbol(r"Q[\nabla F]")


@derivation("eq13")
def Q_gradient_quadratic() -> Result:
    checks, steps = [], []
    H3, w3, ws3 = _symmetric_matrix(3), _vector(3, "w"), _vector(3, "w^{*}")
    F = ((w3 - ws3).T * H3 * (w3 - ws3))[0, 0] / 2
    grad = sp.Matrix([sp.diff(F, x) for x in w3])
    steps.append(
        Step(
            "Quadratic loss F = ½(w−w*)ᵀH(w−w*) (N = 3 shown); differentiate",
            sp.Eq(sp.Symbol(r"\nabla F"), H3 * (w3 - ws3), evaluate=False),
        )
    )
    checks.append(
        Check("∇F = H(w−w*)", all(_is_zero(e) for e in grad - H3 * (w3 - ws3)), "differentiated at N = 3")
    )
    # eigenbasis: H = VΛVᵀ, w−w* = Vc ⇒ ∇F = VΛc and Q[∇F] = cᵀΛ³c / cᵀΛ²c
    t_rot = sp.Symbol("t", real=True)
    V = _rotation(t_rot)
    L = _diag(lam[0], lam[1])
    cv = sp.Matrix([c[0], c[1]])
    g = V * L * cv
    closed = total(lam[i] ** 3 * c[i] ** 2) / total(lam[i] ** 2 * c[i] ** 2)
    direct = Q_of(V * L * V.T, g)
    checks.append(
        Check(
            "Q[VΛc] = Σλ³c²/Σλ²c² for a rotated eigenbasis (N = 2)",
            _is_zero(sp.cancel(direct - at_n(closed, 2))),
            "H = R(t)ΛR(t)ᵀ, w − w* = R(t)c, R(t) the rotation with tan(θ/2) = t symbolic",
        )
    )
    D3 = _diag(lam[0], lam[1], lam[2])
    c3 = sp.Matrix([c[0], c[1], c[2]])
    checks.append(
        Check("Q[Λc] = Σλ³c²/Σλ²c² (N = 3)", _is_zero(Q_of(D3, D3 * c3) - at_n(closed, 3)), "diagonal basis")
    )
    steps.append(Step("In the eigenbasis, ∇F = Σ λ_i c_i v_i, so", sp.Eq(Q_grad, closed)))
    return Result(
        id="eq13",
        title="Curvature along the gradient of a quadratic loss",
        statement=sp.Eq(Q_grad, closed),
        closed_form=closed,
        args=(lam, c),
        conditions=(
            shapes_condition(lam, c),
            Condition("∇F ≠ 0, i.e. Σλ_i²c_i² > 0", array_form(total(lam[i] ** 2 * c[i] ** 2) > 0)),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("lam: eigenvalues of ∇²F; c: coordinates of w − w* in the eigenbasis (last axis).",),
        paper="eq13",
        numeric_impl=array_numeric((lam, c), closed),
    )


# --------------------------------------------------------------------------- eq14


def chebyshev_gap(a: sp.Expr, b: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(N Σ a_i b_i − Σa Σb, ½ Σ_ij (a_i − a_j)(b_i − b_j)) for a, b given as functions of i."""
    gap = N * total(a * b) - total(a) * total(b)
    pairs = sp.Rational(1, 2) * (a - a.subs(i, j)) * (b - b.subs(i, j))
    return gap, pairs


@derivation("eq14")
def Q_gradient_equal_projections() -> Result:
    checks, steps = [], []
    c0 = sp.Symbol("c_0", positive=True)
    eq13 = get("eq13").closed_form
    equal = eq13.xreplace({c[i]: c0})
    closed = total(lam[i] ** 3) / total(lam[i] ** 2)
    steps.append(Step("Equal projections c_i = c_0 in eq13; c_0² cancels", sp.Eq(Q_grad, closed)))
    checks.append(identity_check("c_0 cancels", equal, closed))
    checks.append(general_check("c_0 cancels for general N", sp.simplify(equal), closed))
    gap = N * total(lam[i] ** 3) - total(lam[i]) * total(lam[i] ** 2)
    pair = sp.Rational(1, 2) * (lam[i] + lam[j]) * (lam[i] - lam[j]) ** 2
    pairsum = sp.Sum(pair, (j, 0, N - 1), (i, 0, N - 1))
    steps.append(
        Step(
            "The Chebyshev gap is a sum over pairs, each term (λ_i+λ_j)(λ_i−λ_j)²/2",
            sp.Eq(gap, pairsum),
        )
    )
    checks.append(identity_check("NΣλ³ − ΣλΣλ² = ½Σ_ij(λi+λj)(λi−λj)²", gap, pairsum))
    checks.append(general_check("pair identity for general N", gap, double_sum(pair)))
    ratio_gap = closed - total(lam[i]) / N
    steps.append(
        Step(
            "Divide by NΣλ² > 0: the i = j terms vanish and every i ≠ j term is ≥ 0 when λ_i + λ_j ≥ 0, "
            "so Σλ³/Σλ² ≥ Σλ/N",
            sp.Eq(ratio_gap, gap / (N * total(lam[i] ** 2))),
        )
    )
    checks.append(identity_check("Σλ³/Σλ² − Σλ/N = gap/(NΣλ²)", ratio_gap, gap / (N * total(lam[i] ** 2))))
    # sharper: pairwise λ_i + λ_j ≥ 0 (i ≠ j) suffices; an exact indefinite example and a failure
    example = {lam[0]: -1, lam[1]: 2, lam[2]: 3}
    holds_val = at_n(ratio_gap, 3).subs(example)
    checks.append(
        Check(
            "indefinite λ = (−1, 2, 3) (pairwise sums ≥ 0) satisfies the inequality",
            holds_val == sp.Rational(23, 21) and holds_val > 0,
            f"Σλ³/Σλ² − Σλ/N = {holds_val}",
        )
    )
    failing = {lam[0]: -3, lam[1]: 1, lam[2]: 1}
    fail_val = at_n(ratio_gap, 3).subs(failing)
    checks.append(
        Check(
            "λ = (−3, 1, 1) (λ_1+λ_2 < 0) violates it, so some condition is needed",
            bool(fail_val < 0),
            f"Σλ³/Σλ² − Σλ/N = {fail_val}",
        )
    )
    steps.append(
        Step(
            "General N: expanding ½Σ_ij(λi+λj)(λi−λj)² gives ½(2NΣλ³ − 2ΣλΣλ²) term by term "
            "(verified above by the separable-sum reduction for symbolic N)"
        )
    )
    return Result(
        id="eq14",
        title="Quadratic loss with equal projections: Chebyshev's sum inequality",
        statement=sp.And(sp.Eq(Q_grad, closed), sp.Ge(closed, total(lam[i]) / N)),
        closed_form=closed,
        args=(lam,),
        conditions=(
            shapes_condition(lam),
            Condition("∇²F ≠ 0, i.e. Σλ_i² > 0", array_form(total(lam[i] ** 2) > 0)),
            Condition("for the inequality: λ_i + λ_j ≥ 0 for every pair i ≠ j (implied by ∇²F ⪰ 0)"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        sharper=(
            "Σλ³/Σλ² ≥ Σλ/N needs only λ_i + λ_j ≥ 0 for every pair i ≠ j, weaker than ∇²F ⪰ 0: "
            f"the indefinite spectrum λ = (−1, 2, 3) gives Σλ³/Σλ² − Σλ/N = {holds_val} > 0, while "
            f"λ = (−3, 1, 1), with a negative pair sum, gives {fail_val} < 0.",
        ),
        paper="eq14",
        numeric_impl=array_numeric((lam,), closed),
    )


# --------------------------------------------------------------------------- si_mean_hessian


@derivation("si_mean_hessian")
def Q_gradient_mean_hessian() -> Result:
    checks, steps = [], []
    w1, w2, s = sp.symbols("w_1 w_2 s", real=True)
    x, y = w1 - 1, w2 + 2  # w* = (1, −2)
    F = x**4 / 4 + x**2 * y**2 + x**2 / 2 + y**2 / 2 + x * y / 4
    w, ws = sp.Matrix([w1, w2]), sp.Matrix([1, -2])
    grad = sp.Matrix([sp.diff(F, v) for v in w])
    hess = sp.hessian(F, (w1, w2))
    checks.append(Check("∇F(w*) = 0 on the example", all(e == 0 for e in grad.subs({w1: 1, w2: -2})), ""))
    along = hess.subs({w1: ws[0] + s * (w[0] - ws[0]), w2: ws[1] + s * (w[1] - ws[1])}, simultaneous=True)
    M = along.applyfunc(lambda e: sp.integrate(sp.expand(e), (s, 0, 1)))
    steps.append(
        Step(
            "∇F(w) − ∇F(w*) = ∫₀¹ d/ds ∇F(w*+s(w−w*)) ds = M(w−w*); for the non-quadratic "
            "F = x⁴/4 + x²y² + x²/2 + y²/2 + xy/4, x = w₁−1, y = w₂+2, the mean Hessian is",
            sp.Eq(sp.Symbol("M"), M),
        )
    )
    checks.append(
        Check("∇F(w) = M(w − w*)", all(_is_zero(e) for e in M * (w - ws) - grad), "integrated symbolically")
    )
    checks.append(
        Check("M ≠ ∇²F(w) (the example is not quadratic)", not all(_is_zero(e) for e in M - hess), "")
    )
    # Q in the eigenbasis of H = ∇²F(w)
    t_rot = sp.Symbol("t", real=True)
    V = _rotation(t_rot)
    dv = sp.Matrix([d[0], d[1]])
    closed = total(lam[i] * d[i] ** 2) / total(d[i] ** 2)
    direct = Q_of(V * _diag(lam[0], lam[1]) * V.T, V * dv)
    checks.append(
        Check("Q[Vd] = Σλd²/Σd² (N = 2, rotated basis)", _is_zero(sp.cancel(direct - at_n(closed, 2))), "")
    )
    steps.append(Step("Write ∇F = Σ d_i v_i in the eigenbasis of ∇²F(w)", sp.Eq(Q_grad, closed)))
    # bounds λ_1 ≤ Q ≤ λ_N: Q is a weighted mean of the λ_i with weights d_i²/Σd²
    low = total((lam[i] - lam[0]) * d[i] ** 2) / total(d[i] ** 2)
    high = total((lam[N - 1] - lam[i]) * d[i] ** 2) / total(d[i] ** 2)
    checks.append(identity_check("Q − λ_1 = Σ(λ_i−λ_1)d_i²/Σd²", closed - lam[0], low))
    checks.append(identity_check("λ_N − Q = Σ(λ_N−λ_i)d_i²/Σd²", lam[N - 1] - closed, high))
    steps.append(
        Step(
            "Q is a weighted mean of the eigenvalues, so λ_1 ≤ Q ≤ λ_N (each term below is ≥ 0)",
            sp.Eq(closed - lam[0], low),
        )
    )
    # Chebyshev: similarly ordered d_i² and λ_i give Q ≥ Tr/N
    gap, pair = chebyshev_gap(lam[i], d[i] ** 2)
    pairsum = sp.Sum(pair, (j, 0, N - 1), (i, 0, N - 1))
    checks.append(identity_check("NΣλd² − ΣλΣd² = ½Σ_ij(λi−λj)(di²−dj²)", gap, pairsum))
    checks.append(general_check("Chebyshev identity for general N", gap, double_sum(pair)))
    checks.append(
        identity_check("Q − Σλ/N = gap/(NΣd²)", closed - total(lam[i]) / N, gap / (N * total(d[i] ** 2)))
    )
    steps.append(
        Step(
            "Chebyshev: if d_i² is ordered like λ_i then every pair term (λi−λj)(di²−dj²) ≥ 0, so "
            "Q[∇F] ≥ Tr(∇²F)/N",
            sp.Eq(gap, pairsum),
        )
    )
    return Result(
        id="si_mean_hessian",
        title="Gradient curvature through the mean Hessian M",
        statement=sp.And(sp.Eq(Q_grad, closed), sp.Le(lam[0], Q_grad), sp.Le(Q_grad, lam[N - 1])),
        closed_form=closed,
        args=(lam, d),
        conditions=(
            shapes_condition(lam, d),
            Condition("∇F ≠ 0, i.e. Σd_i² > 0", array_form(total(d[i] ** 2) > 0)),
            Condition("for Q[∇F] ≥ Tr/N (sufficient): d_i² ordered like λ_i (both ascending)"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("d: coordinates of ∇F = M(w − w*) in the eigenbasis of ∇²F(w) (last axis).",),
        paper="SI, first-order rules",
        numeric_impl=array_numeric((lam, d), closed),
    )


# --------------------------------------------------------------------------- si_newton

Q_dc = sp.Symbol(r"Q[\Delta c]")


@derivation("si_newton")
def Q_newton_independent() -> Result:
    checks, steps = [], []
    H2 = _symmetric_matrix(2)
    v = _vector(2, "v")  # w − w*
    kappa = sp.Symbol("kappa", positive=True)
    dc = -kappa * H2.inv() * (H2 * v)  # M = H
    checks.append(Check("M = H: Δc = −κ(w−w*)", all(_is_zero(e) for e in dc + kappa * v), "N = 2, general H"))
    checks.append(Check("Q[−κv] = Q[v]", _is_zero(Q_of(H2, -kappa * v) - Q_of(H2, v)), "scale invariance"))
    steps.append(
        Step(
            "Newton step Δc ∝ −H⁻¹∇F = −H⁻¹M(w−w*); with M = H it is −(w−w*), so",
            sp.Eq(Q_dc, sp.Symbol(r"Q[w - w^*]")),
        )
    )
    # M independent of H, equal projections d_i = d_0: Δc has coordinates −d_0/λ_i
    d0 = sp.Symbol("d_0", positive=True)
    mean_h = get("si_mean_hessian").closed_form
    lam_mh = get("si_mean_hessian").args[0]
    coords = mean_h.xreplace({d[i]: -d0 / lam_pos[i], lam_mh[i]: lam_pos[i]})
    closed = total(1 / lam_pos[i]) / total(1 / lam_pos[i] ** 2)
    checks.append(identity_check("Σλ(d_0/λ)²/Σ(d_0/λ)² = Σλ⁻¹/Σλ⁻²", coords, closed))
    steps.append(
        Step(
            "M independent of H: ∇F has equal projections d_0, so Δc = −Σ(d_0/λ_i)v_i and by "
            "si_mean_hessian's formula",
            sp.Eq(Q_dc, closed),
        )
    )
    L = lam_pos
    gap = total(L[i]) * total(1 / L[i] ** 2) - N * total(1 / L[i])
    pair = sp.Rational(1, 2) * (L[i] + L[j]) * (L[i] - L[j]) ** 2 / (L[i] ** 2 * L[j] ** 2)
    pairsum = sp.Sum(pair, (j, 0, N - 1), (i, 0, N - 1))
    checks.append(identity_check("ΣλΣλ⁻² − NΣλ⁻¹ = ½Σ_ij(λi+λj)(λi−λj)²/(λi²λj²)", gap, pairsum))
    checks.append(general_check("pair identity for general N", gap, double_sum(pair)))
    diff = total(L[i]) / N - closed
    checks.append(identity_check("Σλ/N − Q = gap/(NΣλ⁻²)", diff, gap / (N * total(1 / L[i] ** 2))))
    steps.append(
        Step(
            "Each pair term is ≥ 0 for λ > 0, so Q[Δc] ≤ Tr/N: the one case where compensation "
            "should outcompete fluctuations",
            sp.Eq(diff, pairsum / (N * total(1 / L[i] ** 2))),
        )
    )
    return Result(
        id="si_newton",
        title="Newton-step compensation",
        statement=sp.And(sp.Eq(Q_dc, closed), sp.Le(closed, total(L[i]) / N)),
        closed_form=closed,
        args=(lam_pos,),
        conditions=(
            shapes_condition(lam_pos),
            Condition("∇²F ≻ 0 (every λ_i > 0) so that the Newton step exists"),
            Condition("M independent of ∇²F: ∇F projects equally on every eigenvector"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("With M = ∇²F (quadratic loss, or w near w*) instead, Q[Δc] = Q[w − w*].",),
        paper="SI, second-order rules",
        numeric_impl=array_numeric((lam_pos,), closed),
    )


# --------------------------------------------------------------------------- si_noisy

tilde_norm = sp.Symbol("tilde_norm", nonnegative=True)
nu_norm = sp.Symbol("nu_norm", nonnegative=True)
Q_tilde = sp.Symbol("Q_tilde", real=True)
Q_nu = sp.Symbol("Q_nu", real=True)


def circle_average(expr: sp.Expr, theta: sp.Symbol) -> sp.Expr:
    """Exact (1/2π)∫₀^{2π} expr dθ for a rational function of cos θ, sin θ with rational
    coefficients, by residues: z = e^{iθ}, dθ = dz/(iz), sum of residues inside |z| < 1."""
    z = sp.Symbol("z")
    f = sp.cancel(expr.subs({sp.cos(theta): (z + 1 / z) / 2, sp.sin(theta): (z - 1 / z) / (2 * sp.I)}) / z)
    num, den = sp.fraction(f)
    total_res = sp.Integer(0)
    for pole in sp.roots(sp.Poly(den, z)):
        if sp.Abs(pole) < 1:
            total_res += sp.residue(f, z, pole)
    return sp.nsimplify(sp.simplify(total_res))


@derivation("si_noisy")
def Q_noisy_expected() -> Result:
    checks, steps, sharper = [], [], []
    size = 3
    H3, t, nu = _symmetric_matrix(size), _vector(size, "t"), _vector(size, "nu")
    num = ((t + nu).T * H3 * (t + nu))[0, 0]
    den = ((t + nu).T * (t + nu))[0, 0]
    tHt, tHn, nHn = (t.T * H3 * t)[0, 0], (t.T * H3 * nu)[0, 0], (nu.T * H3 * nu)[0, 0]
    exact = (tHt + 2 * tHn + nHn) / ((t.T * t)[0, 0] + 2 * (t.T * nu)[0, 0] + (nu.T * nu)[0, 0])
    checks.append(Check("exact Q[Δc̃+ν] with cross terms", _is_zero(num / den - exact), "N = 3"))
    steps.append(
        Step(
            "Exact: Q[Δc̃+ν] = (Δc̃ᵀHΔc̃ + 2Δc̃ᵀHν + νᵀHν)/(‖Δc̃‖² + 2Δc̃ᵀν + ‖ν‖²)",
            sp.Eq(sp.Symbol(r"Q[\tilde{\Delta c}+\nu]"), exact),
        )
    )
    # ν = b u with u an isotropic direction independent of Δc̃: E[u] = 0, E[uuᵀ] = I/N
    b = sp.Symbol("b", positive=True)
    u = _vector(size, "u")
    e_num = isotropic_expectation(num.subs(dict(zip(nu, b * u, strict=True))), u)
    e_den = isotropic_expectation(den.subs(dict(zip(nu, b * u, strict=True))), u)
    eq12 = get("eq12")
    q_nu_iso = eq12.closed_form.subs({eq12.args[0]: H3.trace(), eq12.args[1]: size})
    a2 = (t.T * t)[0, 0]
    checks.append(Check("E[numerator] = Δc̃ᵀHΔc̃ + b²Tr/N", _is_zero(e_num - tHt - b**2 * q_nu_iso), ""))
    checks.append(Check("E[denominator] = ‖Δc̃‖² + b²", _is_zero(e_den - a2 - b**2), ""))
    closed = (tilde_norm**2 * Q_tilde + nu_norm**2 * Q_nu) / (tilde_norm**2 + nu_norm**2)
    in_terms = closed.subs(
        {tilde_norm: sp.sqrt(a2), Q_tilde: tHt / a2, nu_norm: b, Q_nu: q_nu_iso}, simultaneous=True
    )
    checks.append(Check("E[num]/E[den] = weighted mean", _is_zero(e_num / e_den - in_terms), "N = 3"))
    ratio_sym = sp.Symbol(r"\mathbb{E}[\mathrm{num}]/\mathbb{E}[\mathrm{den}]")
    steps.append(
        Step(
            "Average numerator and denominator over ν = b·û (cross terms vanish, E[νᵀHν] = b²Tr/N = "
            "b²Q_ν by eq12): a weighted mean with a = ‖Δc̃‖, b = ‖ν‖",
            sp.Eq(ratio_sym, closed),
        )
    )
    # behaviour in r = b/a
    r = sp.Symbol("r", positive=True)
    a = sp.Symbol("a", positive=True)
    R = closed.subs({tilde_norm: a, nu_norm: r * a})
    R = sp.simplify(R)
    dR = sp.factor(sp.diff(R, r))
    expected_dR = 2 * r * (Q_nu - Q_tilde) / (1 + r**2) ** 2
    checks.append(Check("dR/dr = 2r(Q_ν − Q̃)/(1+r²)²", _is_zero(dR - expected_dR), str(dR)))
    above = sp.simplify(R - Q_nu)
    checks.append(Check("R − Q_ν = (Q̃ − Q_ν)/(1+r²)", _is_zero(above - (Q_tilde - Q_nu) / (1 + r**2)), ""))
    lim = sp.limit(R, r, sp.oo)
    checks.append(Check("lim_{r→∞} R = Q_ν", _is_zero(lim - Q_nu), str(lim)))
    steps.append(
        Step(
            "With r = ‖ν‖/‖Δc̃‖, R − Q_ν = (Q̃ − Q_ν)/(1+r²): when Q̃ > Q_ν, R decreases monotonically "
            "and tends to Q_ν from above",
            sp.Eq(sp.Symbol("R(r)") - Q_nu, above),
        )
    )
    steps.append(Step("and its limit as the noise grows", sp.Eq(sp.Limit(R, r, sp.oo), lim)))
    # the plasticity ratio sqrt(Q_eps / R) (eq9a) approaches its limit from below
    eq9a = get("eq9a")
    names = dict(zip(eq9a.arg_names, eq9a.args, strict=True))
    q_eps = sp.Symbol("Q_eps", positive=True)
    ratio = eq9a.closed_form.subs({names["Q_eps"]: q_eps, names["Q_c"]: R}, simultaneous=True)
    dratio = sp.diff(ratio, r)
    link = sp.simplify(dratio + ratio * sp.diff(R, r) / (2 * R))
    checks.append(Check("d ratio/dr = −ratio·R'/(2R)", link == 0, str(link)))
    steps.append(
        Step(
            "eq9a: ‖Δc‖*/‖Δε‖ = √(Q[Δε]/R) moves opposite to R, so with Q̃ > Q_ν it increases to "
            "√(Q[Δε]/Q_ν) (= 1 for isotropic ν) from below",
            sp.Eq(sp.Symbol(r"\|\Delta c\|^{*}/\|\Delta\epsilon\|"), ratio),
        )
    )
    sharper.append(
        "The paper says Q[Δc] approaches Q[ν] 'from below'; the derivation gives "
        "R − Q_ν = (Q̃ − Q_ν)/(1 + r²), so when Q̃ > Q_ν (e.g. gradient rules, eq14) it approaches "
        "from ABOVE; it is the ratio ‖Δc‖*/‖Δε‖ = √(Q[Δε]/R) that approaches its limit from below."
    )
    # counterexample: E[Q] differs from the ratio of expectations
    theta = sp.Symbol("theta", real=True)
    Hc = sp.diag(1, 0)
    tc = sp.Matrix([1, 0])
    bc = sp.Rational(1, 2)
    vc = tc + bc * sp.Matrix([sp.cos(theta), sp.sin(theta)])
    EQ = circle_average(sp.expand((vc.T * Hc * vc)[0, 0]) / sp.expand((vc.T * vc)[0, 0]), theta)
    roe = closed.subs({tilde_norm: 1, nu_norm: bc, Q_tilde: Q_of(Hc, tc), Q_nu: Hc.trace() / 2})
    checks.append(
        Check(
            "E[Q] ≠ E[num]/E[den] on an exact example",
            EQ == sp.Rational(7, 8) and roe == sp.Rational(9, 10),
            f"E[Q] = {EQ}, ratio of expectations = {roe}",
        )
    )
    sharper.append(
        "The weighted mean (a²Q̃ + b²Q_ν)/(a² + b²) is E[numerator]/E[denominator], not E[Q]: "
        "for N = 2, H = diag(1, 0), Δc̃ = (1, 0), ν = ½(cos θ, sin θ) with θ uniform, exact "
        f"integration by residues gives E[Q[Δc̃+ν]] = {EQ} while the ratio of expectations is {roe}."
    )
    steps.append(
        Step(
            "Counterexample (exact, by residues): N = 2, H = diag(1,0), Δc̃ = (1,0), ν = ½(cos θ, sin θ)",
            sp.Eq(sp.Symbol(r"\mathbb{E}\,Q"), EQ),
        )
    )
    return Result(
        id="si_noisy",
        title="Imperfect (noisy) learning rules",
        statement=sp.Eq(ratio_sym, closed),
        closed_form=closed,
        args=(tilde_norm, nu_norm, Q_tilde, Q_nu),
        conditions=(
            Condition("ν independent of Δc̃, isotropic in direction (E[ν]=0, E[ννᵀ] = ‖ν‖²I/N)"),
            Condition("‖Δc̃‖² + ‖ν‖² > 0", tilde_norm**2 + nu_norm**2 > 0),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(
            "Q_nu is E[Q[ν]] = Tr(∇²F)/N for isotropic ν (eq12); Q_tilde = Q[Δc̃].",
            "The formula is a ratio of expectations, not E[Q[Δc̃+ν]] (see the counterexample).",
        ),
        sharper=tuple(sharper),
        paper="SI, imperfect learning rules",
    )


# --------------------------------------------------------------------------- si_zeroth_order

ratio_symbol = sp.Symbol(r"\|\Delta c\|^{*}/\|\Delta\epsilon\|")


@derivation("si_zeroth_order")
def expected_Q_zeroth_order() -> Result:
    checks, steps = [], []
    eq12 = get("eq12")
    kappa = sp.Symbol("kappa", positive=True)
    H3, u3 = _symmetric_matrix(3), _vector(3, "u")
    checks.append(
        Check("Q[−κu] = Q[u]", _is_zero(Q_of(H3, -kappa * u3) - Q_of(H3, u3)), "scale invariance (N = 3)")
    )
    mean3 = isotropic_expectation((u3.T * H3 * u3)[0, 0], u3)
    checks.append(Check("E[uᵀHu] = Tr(H)/N (N = 3)", _is_zero(mean3 - H3.trace() / 3), str(mean3)))
    closed = eq12.closed_form.subs({eq12.args[0]: trace_H, eq12.args[1]: n})
    at3 = closed.subs({trace_H: H3.trace(), n: 3})
    checks.append(Check("closed form = E[uᵀHu] at N = 3", _is_zero(at3 - mean3), str(at3)))
    steps.append(
        Step(
            "Zeroth-order rule Δc = −κu with a random direction u, E[uuᵀ] = I/N, independent of ∇²F; "
            "Q is scale invariant, so E[Q[Δc]] = E[uᵀHu]/‖u‖² is eq12",
            sp.Eq(sp.Symbol(r"\mathbb{E}\,Q[\Delta c]"), closed),
        )
    )
    eq9a = get("eq9a")
    names = dict(zip(eq9a.arg_names, eq9a.args, strict=True))
    ratio = sp.simplify(eq9a.closed_form.subs({names["Q_eps"]: closed, names["Q_c"]: closed}))
    checks.append(Check("eq9a ratio = 1", ratio == 1, str(ratio)))
    steps.append(Step("eq9a with Q[Δε] = Q[Δc] = Tr/N", sp.Eq(ratio_symbol, ratio)))
    return Result(
        id="si_zeroth_order",
        title="Zeroth-order (random-direction) compensation",
        statement=sp.And(sp.Eq(sp.Symbol(r"\mathbb{E}\,Q[\Delta c]"), closed), sp.Eq(ratio_symbol, ratio)),
        closed_form=closed,
        args=(trace_H, n),
        conditions=(
            Condition("Tr(∇²F) > 0 for the ratio (eq9a needs Q > 0)"),
            Condition("u independent of ∇²F with E[uuᵀ] ∝ I"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The ratio uses E[Q[Δc]] in place of Q[Δc] in eq9a, as the paper does.",),
        paper="Table 2, SI",
    )


# --------------------------------------------------------------------------- si_positivity


@derivation("si_positivity")
def positivity() -> Result:
    checks, steps = [], []
    eq12 = get("eq12")
    T = sp.Symbol("T", positive=True)
    tr = sp.Symbol(r"\operatorname{Tr}\nabla^2 F", real=True)
    mean = eq12.closed_form.subs({eq12.args[0]: T, eq12.args[1]: N})
    checks.append(Check("Tr > 0 ⇒ E[Q[Δε]] > 0", mean.is_positive is True, str(mean)))
    steps.append(Step("eq12 with Tr(∇²F) = T > 0 and N ≥ 1", sp.Gt(mean, 0)))
    lam_nn = sp.IndexedBase("lam", nonnegative=True)
    Qv = total(lam_nn[i] * c[i] ** 2) / total(c[i] ** 2)
    nonneg = [at_n(sp.numer(Qv), m).is_nonnegative for m in SMALL_N]
    checks.append(
        Check(
            "λ ≥ 0 ⇒ vᵀHv = Σλ_i v_i² ≥ 0 (so Q ≥ 0, its denominator ‖v‖² being > 0)",
            all(v is True for v in nonneg),
            f"sympy sign inference, N = {SMALL_N}",
        )
    )
    steps.append(Step("∇²F ⪰ 0: Q[v] = Σλ_i v_i²/Σv_i² is a mean of non-negative λ_i", sp.Ge(Qv, 0)))
    example = at_n(Qv, 2).subs({lam_nn[0]: -1, lam_nn[1]: 2, c[0]: 1, c[1]: 0})
    checks.append(
        Check("Tr > 0 does not give Q ≥ 0 for every v", example == -1, f"λ = (−1, 2), v = e_1: Q = {example}")
    )
    at_zero = eq12.closed_form.subs({eq12.args[0]: 0, eq12.args[1]: N})
    checks.append(Check("Tr = 0 gives E[Q[Δε]] = 0, not > 0", at_zero == 0, str(at_zero)))
    sharper = (
        "The SI calls a state partially trained when Tr(∇²F) ≥ 0, but positivity of E[Q[Δε]] (and the "
        f"square root in eq9a) needs Tr(∇²F) > 0: at Tr = 0, eq12 gives E[Q[Δε]] = {at_zero}.",
    )
    notes = (
        "Partially trained (Tr ∇²F > 0) gives positivity only on average over isotropic directions: "
        f"λ = (−1, 2) has Tr = 1 > 0 yet Q[e_1] = {example}.",
    )
    return Result(
        id="si_positivity",
        title="Positivity of the curvature terms",
        statement=sp.And(sp.Implies(tr > 0, tr / N > 0), sp.Ge(Qv, 0)),
        conditions=(Condition("first part: Tr ∇²F > 0; second part: ∇²F ⪰ 0"),),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=notes,
        sharper=sharper,
        paper="SI, positivity",
    )


# --------------------------------------------------------------------------- lemma_average_case


@derivation("lemma_average_case")
def lemma_average_case() -> Result:
    checks, steps, notes = [], [], []
    p = sp.IndexedBase("p", nonnegative=True)
    closed13 = get("eq13").closed_form
    weights = lam[i] ** 2 * c[i] ** 2 / total(lam[i] ** 2 * c[i] ** 2)
    as_mean = total(lam[i] * lam[i] ** 2 * c[i] ** 2) / total(lam[i] ** 2 * c[i] ** 2)
    checks.append(identity_check("Q[∇F] = Σλ_i p_i, p_i = λi²ci²/Σλ²c²", closed13, as_mean))
    checks.append(identity_check("Σp_i = 1", total(weights), sp.Integer(1)))
    steps.append(
        Step(
            "Quadratic loss (eq13): Q[∇F] = Σ λ_i p_i with weights p_i = λ_i²c_i²/Σλ²c²",
            sp.Eq(Q_grad, total(lam[i] * p[i])),
        )
    )
    # pairing: swapping c_i and c_j preserves the law of c; the pair sum is ≥ 0 when λ_i² ≥ λ_j²
    A, B, x, y, R = sp.symbols("A B x y R", nonnegative=True)  # A = λi², B = λj², x = ci², y = cj²
    pair = (A * x - B * y) / (A * x + B * y + R) + (A * y - B * x) / (A * y + B * x + R)
    num = sp.factor(sp.numer(sp.together(pair)))
    target = (A - B) * (2 * x * y * (A + B) + R * (x + y))
    checks.append(Check("pair numerator = (A−B)(2xy(A+B) + R(x+y))", _is_zero(num - target), str(num)))
    steps.append(
        Step(
            "Swap c_i ↔ c_j (A = λ_i², B = λ_j², x = c_i², y = c_j², R = the other terms): "
            "(p_i − p_j)(c) + (p_i − p_j)(c') has numerator",
            sp.Eq(sp.Symbol("numerator"), target),
        )
    )
    steps.append(
        Step(
            "It is ≥ 0 when λ_i ≥ λ_j ≥ 0 (so A ≥ B); since c and its swap c' are equally likely, "
            "E[p_i] − E[p_j] = ½E[pair sum] ≥ 0: E[p_i] is ordered like λ_i"
        )
    )
    notes.append(
        "Not symbolic: 'c and c with c_i, c_j swapped have the same law' is the exchangeability of an "
        "isotropic c in the eigenbasis (a permutation is orthogonal); the expectation step is measure "
        "theory, checked numerically in tests/test_derivations_curvature.py."
    )
    gap, pairs = chebyshev_gap(lam[i], p[i])
    checks.append(
        identity_check("NΣλp − ΣλΣp = ½Σ(λi−λj)(pi−pj)", gap, sp.Sum(pairs, (j, 0, N - 1), (i, 0, N - 1)))
    )
    checks.append(general_check("Chebyshev identity for general N", gap, double_sum(pairs)))
    T = total(lam[i])
    steps.append(
        Step(
            "Chebyshev with ΣE[p_i] = 1: E[Q[∇F]] = Σλ_i E[p_i] ≥ (Σλ_i/N)·ΣE[p_i]",
            sp.Ge(sp.Symbol(r"\mathbb{E}\,Q[\nabla F]"), T / N),
        )
    )
    return Result(
        id="lemma_average_case",
        title="Average-case lemma: gradients are on average at least as curved as noise",
        statement=sp.Ge(sp.Symbol(r"\mathbb{E}\,Q[\nabla F]"), T / N),
        conditions=(
            Condition("∇²F ⪰ 0 (quadratic loss, M = ∇²F)"),
            Condition("w − w* random with an exchangeable (e.g. isotropic) law of its eigen-coordinates"),
            Condition("∇F ≠ 0 almost surely"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=tuple(notes),
        sharper=(
            "The paper argues informally; the proof needs only ∇²F ⪰ 0 and an "
            "exchangeable law of the eigen-coordinates of w − w*, not full isotropy.",
        ),
        paper="SI, first-order rules (informal)",
    )
