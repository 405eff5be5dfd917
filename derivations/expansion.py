"""The second-order expansion of the loss and the expected change under the assumptions.

Registers ``eq2`` (Taylor expansion of a generic smooth F), ``eq3`` (the assumptions on the
fluctuations), ``eq4`` (expected change under a task-independent fluctuation), ``eq5`` (the
curvature operator Q and its scale invariance) and ``eq8`` (expected ΔF of compensation plus
fluctuation).  Each closed form is produced by SymPy from the previous results, never typed.
"""

from __future__ import annotations

import sympy as sp

from plasticity.derivations.core import Check, Condition, Result, Step, derivation, get

__all__ = [
    "c_norm",
    "grad_dot_chat",
    "eps_norm",
    "Q_c",
    "Q_eps",
    "is_zero",
]

# --------------------------------------------------------------------------- symbols
# Scalars the closed forms are functions of; names are the public argument names of
# derivations.closed_forms.SIGNATURES, assumptions are what validation enforces.
g_dot_dw = sp.Symbol("g_dot_dw", real=True)  # ∇Fᵀ Δw
dw_H_dw = sp.Symbol("dw_H_dw", real=True)  # Δwᵀ ∇²F Δw
dw_norm = sp.Symbol("dw_norm", nonnegative=True)  # ‖Δw‖
trace_H = sp.Symbol("trace_H", real=True)  # Tr ∇²F
n = sp.Symbol("n", positive=True, integer=True)  # N, the number of synapses
v_H_v = sp.Symbol("v_H_v", real=True)  # vᵀ ∇²F v
v_norm = sp.Symbol("v_norm", positive=True)  # ‖v‖ (Q is undefined at v = 0)
c_norm = sp.Symbol("c_norm", nonnegative=True)  # ‖Δc‖
grad_dot_chat = sp.Symbol("grad_dot_chat", real=True)  # ∇Fᵀ Δĉ
eps_norm = sp.Symbol("eps_norm", nonnegative=True)  # ‖Δε‖
Q_c = sp.Symbol("Q_c", real=True)  # Q[Δc]
Q_eps = sp.Symbol("Q_eps", real=True)  # Q[Δε] (its expectation when Δε is random)

#: the change in loss, as the symbol the statements equate to
Delta_F = sp.Symbol(r"\Delta F")
E_Delta_F = sp.Symbol(r"\mathbb{E}[\Delta F]")


def is_zero(expr: sp.Basic) -> bool:
    """True when SymPy proves ``expr`` identically zero (expand, then simplify if needed)."""
    e = sp.expand(expr)
    if e == 0:
        return True
    return bool(sp.simplify(e) == 0)


def _vec(name: str, size: int) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}1:{size + 1}", real=True))


def _sym_matrix(name: str, size: int) -> sp.Matrix:
    """A symmetric matrix of real symbols (a Hessian)."""
    entries = {}
    for i in range(size):
        for j in range(i, size):
            entries[(i, j)] = entries[(j, i)] = sp.Symbol(f"{name}{i + 1}{j + 1}", real=True)
    return sp.Matrix(size, size, lambda i, j: entries[(i, j)])


def _circle_average(expr: sp.Basic, theta: sp.Symbol) -> sp.Basic:
    """Exact mean of ``expr`` over θ uniform on [0, 2π) (term by term for speed)."""
    terms = sp.Add.make_args(sp.expand(expr))
    return sp.expand(sum(sp.integrate(term, (theta, 0, 2 * sp.pi)) for term in terms) / (2 * sp.pi))


# --------------------------------------------------------------------------- eq2
@derivation("eq2")
def eq2() -> Result:
    """Second-order Taylor expansion of a generic smooth F along Δw, remainder O(‖Δw‖³)."""
    size = 3
    t = sp.Symbol("t", real=True)
    w = sp.symbols(f"w1:{size + 1}", real=True)
    d = sp.symbols(f"d1:{size + 1}", real=True)
    x = sp.symbols(f"x1:{size + 1}", real=True)
    F = sp.Function("F")
    f = F(*[wi + t * di for wi, di in zip(w, d, strict=True)])  # f(t) = F(w + tΔw)
    along = {xi: wi + t * di for xi, wi, di in zip(x, w, d, strict=True)}
    dv = sp.Matrix(d)
    grad = sp.Matrix([F(*x).diff(xi) for xi in x])
    hess = sp.hessian(F(*x), x)
    third = sum(
        d[i] * d[j] * d[k] * F(*x).diff(x[i], x[j], x[k])
        for i in range(size)
        for j in range(size)
        for k in range(size)
    )
    targets = {1: (grad.T * dv)[0], 2: (dv.T * hess * dv)[0]}
    steps: list[Step] = []
    checks: list[Check] = []
    for k, target in targets.items():
        fk = sp.diff(f, t, k).doit()
        ok = is_zero(fk - target.subs(along).doit())
        checks.append(Check(f"f^({k})(t) = directional derivative of order {k} of F at w+tΔw", ok))

    def directional(expr: sp.Basic) -> sp.Basic:  # d/dt of expr(x) along x = w + tΔw
        return sum(di * expr.diff(xi) for di, xi in zip(d, x, strict=True))

    checks.append(
        Check(
            "chain rule: Δwᵀ∇ applied to f'' gives the trilinear third derivative",
            is_zero(directional(targets[2]) - third),
        )
    )
    steps.append(
        Step(
            "Restrict a generic smooth F of N = 3 variables to the line w + tΔw: f(t) = F(w + tΔw). "
            "SymPy's chain rule gives f'(t) = ∇F(w+tΔw)ᵀΔw and f''(t) = Δwᵀ∇²F(w+tΔw)Δw.",
            sp.Eq(sp.Symbol("f''(t)"), targets[2]),
        )
    )
    # f''' is homogeneous of degree 3 in Δw, so the Lagrange remainder f'''(ξ)/6 is O(‖Δw‖³).
    s = sp.Symbol("s", positive=True)
    homogeneous = is_zero(third.subs({di: s * di for di in d}, simultaneous=True) - s**3 * third)
    checks.append(Check("f'''(t) is homogeneous of degree 3 in Δw (remainder is O(‖Δw‖³))", homogeneous))
    # Univariate Taylor series of a generic f: the coefficients come from SymPy's series.
    u = sp.Function("f")
    series = u(t).series(t, 0, 3).removeO()
    first, second = sp.Symbol("f'(0)"), sp.Symbol("f''(0)")
    subs_derivs = {}
    for sub in series.atoms(sp.Subs):
        order = sub.expr.derivative_count
        subs_derivs[sub] = first if order == 1 else second
    series = series.xreplace(subs_derivs)
    steps.append(Step("SymPy's Taylor series of f about t = 0, to second order.", series))
    # ΔF = f(1) − f(0) with f'(0) = ∇FᵀΔw, f''(0) = ΔwᵀHΔw.
    closed = sp.expand((series - u(0)).subs(t, 1).subs({first: g_dot_dw, second: dw_H_dw}))
    steps.append(Step("Set t = 1 and identify f'(0) = ∇FᵀΔw, f''(0) = Δwᵀ∇²FΔw.", closed))
    # A concrete non-polynomial F: the remainder of the second-order formula is exactly O(t³).
    xs = sp.symbols("y1:4", real=True)
    concrete = sp.exp(xs[0]) * sp.sin(xs[1]) + sp.log(1 + xs[2] ** 2) + xs[0] * xs[1] * xs[2]
    w0 = dict(zip(xs, (sp.Rational(1, 3), sp.Rational(-1, 2), sp.Rational(2, 5)), strict=True))
    dw0 = (sp.Rational(1), sp.Rational(2), sp.Rational(-1))
    g0 = sp.Matrix([concrete.diff(xi) for xi in xs]).subs(w0)
    h0 = sp.hessian(concrete, xs).subs(w0)
    dwv = sp.Matrix(dw0)
    line = concrete.subs({xi: w0[xi] + t * di for xi, di in zip(xs, dw0, strict=True)}, simultaneous=True)
    predicted = closed.subs({g_dot_dw: t * (g0.T * dwv)[0], dw_H_dw: t**2 * (dwv.T * h0 * dwv)[0]})
    remainder = line - concrete.subs(w0) - predicted
    rem_series = sp.series(remainder, t, 0, 4).removeO()
    low = [sp.simplify(rem_series.coeff(t, k)) for k in range(3)]
    cubic = sp.simplify(rem_series.coeff(t, 3))
    checks.append(
        Check(
            "concrete F = e^x sin y + log(1+z²) + xyz: remainder has no t⁰, t¹, t² terms",
            all(c == 0 for c in low),
        )
    )
    checks.append(
        Check(
            "concrete F: remainder's t³ coefficient is non-zero (order is exactly 3)",
            cubic != 0,
            f"t^3 coefficient {cubic}",
        )
    )
    steps.append(
        Step(
            "Concrete check: F(w+tΔw) − F(w) − [t∇FᵀΔw + ½t²Δwᵀ∇²FΔw] as a series in t.",
            sp.Add(cubic * t**3, sp.O(t**4)),
        )
    )
    statement = sp.Eq(Delta_F, closed + sp.O(dw_norm**3))
    return Result(
        id="eq2",
        title="Second-order expansion of the loss",
        statement=statement,
        closed_form=closed,
        args=(g_dot_dw, dw_H_dw),
        conditions=(Condition("F is three times continuously differentiable near w; Δw = Δc + Δε"),),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(
            "g_dot_dw = ∇F[w]ᵀΔw and dw_H_dw = Δwᵀ∇²F[w]Δw; the closed form drops the O(‖Δw‖³) remainder.",
            "f'''(t) is obtained by applying the directional derivative Δwᵀ∇ to the verified f''; "
            "SymPy's direct third t-derivative of F(w+tΔw) is not compared because SymPy 1.14 leaks "
            "dummy variables into nested Subs of mixed third partials of an undefined function.",
        ),
        paper="Box 2, Equation (2); Box 3, Equation (7)",
    )


# --------------------------------------------------------------------------- eq3
@derivation("eq3")
def eq3() -> Result:
    """The assumptions on fluctuations and compensation, checked for consistency."""
    E = sp.Function(r"\mathbb{E}")
    e_g, e_H_c, c_g = sp.symbols(
        r"\Delta\epsilon^{T}\nabla{F} \Delta\epsilon^{T}\nabla^{2}F\Delta{c} "
        r"\Delta{c}^{T}\nabla{F}",
        real=True,
    )
    N = sp.Symbol("N", positive=True, integer=True)
    second_moment = sp.MatrixSymbol(r"\mathbb{E}[\Delta\epsilon\Delta\epsilon^{T}]", N, N)
    isotropic = eps_norm**2 / N * sp.Identity(N)
    statement = sp.Tuple(
        sp.Eq(E(e_g), 0, evaluate=False),
        sp.Eq(E(e_H_c), 0, evaluate=False),
        sp.StrictLessThan(c_g, 0),
        sp.Eq(second_moment, isotropic, evaluate=False),
    )
    checks: list[Check] = []
    steps: list[Step] = []
    # (3d) is consistent: its trace is E‖Δε‖² = ‖Δε‖² for symbolic N.
    tr = sp.trace(isotropic)
    checks.append(Check("Tr((‖Δε‖²/N) I_N) = ‖Δε‖² for symbolic N", is_zero(tr - eps_norm**2)))
    steps.append(Step("Trace of the isotropic second moment (symbolic N).", sp.Eq(sp.Symbol("Tr"), tr)))
    # Uniform on the circle / sphere of radius ‖Δε‖ satisfies (3a) and (3d) exactly.
    theta = sp.Symbol("theta", real=True)
    g = _vec("g", 2)
    eps = eps_norm * sp.Matrix([sp.cos(theta), sp.sin(theta)])
    mean_eg = _circle_average((eps.T * g)[0], theta)
    moment = (eps * eps.T).applyfunc(lambda e: _circle_average(e, theta))
    checks.append(Check("Δε uniform on the circle: E[Δεᵀ∇F] = 0", mean_eg == 0))
    checks.append(
        Check("Δε uniform on the circle: E[ΔεΔεᵀ] = (‖Δε‖²/2) I", moment == eps_norm**2 / 2 * sp.eye(2))
    )
    steps.append(Step("Exact moments of Δε uniform on the circle of radius ‖Δε‖.", moment))
    phi = sp.Symbol("phi", real=True)
    sphere = eps_norm * sp.Matrix([sp.sin(phi) * sp.cos(theta), sp.sin(phi) * sp.sin(theta), sp.cos(phi)])
    # surface measure sin φ dφ dθ / 4π
    moment3 = (sphere * sphere.T).applyfunc(
        lambda e: (
            sp.integrate(sp.integrate(sp.expand(e * sp.sin(phi)), (phi, 0, sp.pi)), (theta, 0, 2 * sp.pi))
            / (4 * sp.pi)
        )
    )
    checks.append(
        Check(
            "Δε uniform on the sphere in R³: E[ΔεΔεᵀ] = (‖Δε‖²/3) I",
            (moment3 - eps_norm**2 / 3 * sp.eye(3)).applyfunc(sp.simplify) == sp.zeros(3, 3),
        )
    )
    steps.append(Step("Exact second moment of Δε uniform on the sphere of radius ‖Δε‖ in R³.", moment3))
    # (3c) in the variables of eq8: Δcᵀ∇F = ‖Δc‖ ∇FᵀΔĉ < 0 ⇔ ∇FᵀΔĉ < 0 when ‖Δc‖ > 0.
    c = _vec("c", 2)
    c_len = sp.sqrt((c.T * c)[0])
    split = (c.T * g)[0] - c_len * (g.T * (c / c_len))[0]
    checks.append(Check("Δcᵀ∇F = ‖Δc‖ ∇FᵀΔĉ, so (3c) is ∇FᵀΔĉ < 0 for Δc ≠ 0", is_zero(split)))
    return Result(
        id="eq3",
        title="Assumptions on synaptic fluctuations and compensatory plasticity",
        statement=statement,
        conditions=(
            Condition("(3a) fluctuations are uncorrelated with the gradient: E[Δεᵀ∇F] = 0"),
            Condition("(3b) fluctuations are uncorrelated with ∇²FΔc: E[Δεᵀ∇²FΔc] = 0"),
            Condition("(3c) compensation is downhill: Δcᵀ∇F < 0"),
            Condition("(3d) isotropic fluctuations: E[ΔεΔεᵀ] = (‖Δε‖²/N) I"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("(3b) is not needed for the steady-state ratio eq9a; see app1.",),
        paper="Box 3, Equations (3a)-(3b); Box 2 (isotropy of task-independent fluctuations)",
    )


# --------------------------------------------------------------------------- eq4
@derivation("eq4")
def eq4() -> Result:
    """E[ΔF] of a task-independent change: ‖Δw‖² Tr(∇²F)/(2N), from eq2 and (3a), (3d)."""
    second = get("eq2")
    N = sp.Symbol("N", positive=True, integer=True)
    H = sp.MatrixSymbol("H", N, N)
    # E[ΔwᵀHΔw] = Tr(H E[ΔwΔwᵀ]) with the isotropic second moment of (3d).
    e_quad = sp.trace(H * (dw_norm**2 / N) * sp.Identity(N))
    steps = [Step("E[Δwᵀ∇²FΔw] = Tr(∇²F E[ΔwΔwᵀ]) with E[ΔwΔwᵀ] = (‖Δw‖²/N) I (symbolic N).", e_quad)]
    expected = second.closed_form.subs({g_dot_dw: 0, dw_H_dw: e_quad})
    steps.append(Step("Take the expectation of eq2 (linear in ∇FᵀΔw, which has mean 0 by (3a)).", expected))
    closed = expected.subs({sp.Trace(H): trace_H, N: n})
    steps.append(Step("Write Tr(∇²F) = trace_H, N = n.", closed))
    checks = []
    # eq2 is linear in the random pieces, so E commutes with it.
    lin = all(sp.diff(second.closed_form, s, 2) == 0 for s in (g_dot_dw, dw_H_dw))
    checks.append(Check("eq2 is affine in g_dot_dw and dw_H_dw, so expectation passes through", lin))
    # Independent: exact average over Δw uniform on a circle, any quadratic F in 2 variables.
    theta = sp.Symbol("theta", real=True)
    g = _vec("g", 2)
    Hm = _sym_matrix("h", 2)
    dw = dw_norm * sp.Matrix([sp.cos(theta), sp.sin(theta)])
    dF = (g.T * dw)[0] + (dw.T * Hm * dw)[0] / 2  # exact ΔF of the quadratic F
    mean = _circle_average(dF, theta)
    checks.append(
        Check(
            "exact circle average of ΔF for a quadratic F equals the closed form with N = 2",
            is_zero(mean - closed.subs({trace_H: Hm.trace(), n: 2})),
        )
    )
    return Result(
        id="eq4",
        title="Expected change in loss under a task-independent fluctuation",
        statement=sp.Eq(E_Delta_F, closed),
        closed_form=closed,
        args=(dw_norm, trace_H, n),
        conditions=(
            Condition("Δw task independent: E[Δwᵀ∇F] = 0 and E[ΔwΔwᵀ] = (‖Δw‖²/N) I (eq3)"),
            Condition("second order in ‖Δw‖ (eq2)"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Tr(∇²F) > 0 ('partially trained') makes the expected change positive.",),
        paper="Box 2, Equations (3)-(4)",
    )


# --------------------------------------------------------------------------- eq5
@derivation("eq5")
def eq5() -> Result:
    """The curvature operator Q[v] = vᵀ∇²Fv/‖v‖², and its invariance under v → a v."""
    closed = v_H_v / v_norm**2
    steps = [
        Step("Define Q so that the second-order term of eq2 is ½‖v‖²Q[v].", sp.Eq(sp.Symbol("Q[v]"), closed))
    ]
    checks = []
    second = get("eq2").closed_form
    from_eq2 = (second - second.subs(dw_H_dw, 0)).subs(dw_H_dw, v_norm**2 * closed)
    checks.append(Check("eq2's quadratic term equals ½‖v‖²Q[v]", is_zero(from_eq2 - v_H_v / 2)))
    size = 3
    v = _vec("v", size)
    H = _sym_matrix("h", size)
    a = sp.Symbol("a", nonzero=True, real=True)

    def q_of(vec: sp.Matrix) -> sp.Basic:
        return closed.subs({v_H_v: (vec.T * H * vec)[0], v_norm: sp.sqrt((vec.T * vec)[0])})

    scaled = sp.cancel(q_of(a * v) - q_of(v))
    checks.append(Check("Q[a v] = Q[v] for every real a ≠ 0 (symbolic 3×3 Hessian)", scaled == 0))
    steps.append(Step("Q[a v] − Q[v] for a symbolic symmetric 3×3 ∇²F and vector v.", scaled))
    # Rayleigh-quotient bounds for a diagonal Hessian in 2D: Q − λ₁ = (λ₂−λ₁) v₂²/‖v‖² ≥ 0.
    l1, l2 = sp.symbols("lambda1 lambda2", real=True)
    v2 = _vec("v", 2)
    qd = closed.subs({v_H_v: l1 * v2[0] ** 2 + l2 * v2[1] ** 2, v_norm: sp.sqrt((v2.T * v2)[0])})
    gap = sp.factor(sp.cancel(qd - l1))
    checks.append(
        Check(
            "Q[v] − λ₁ = (λ₂ − λ₁) v₂²/‖v‖² (Rayleigh quotient lies in [λ₁, λ₂])",
            is_zero(gap - (l2 - l1) * v2[1] ** 2 / (v2[0] ** 2 + v2[1] ** 2)),
        )
    )
    checks.append(Check("Q of an eigenvector is its eigenvalue", qd.subs({v2[0]: 1, v2[1]: 0}) == l1))
    return Result(
        id="eq5",
        title="Curvature operator Q and its scale invariance",
        statement=sp.Eq(sp.Symbol("Q_{w}[v]"), closed),
        closed_form=closed,
        args=(v_H_v, v_norm),
        conditions=(Condition("v ≠ 0 (Q is a ratio by ‖v‖²)"),),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Q depends only on the direction of v, so Q[Δc] is a property of the rule's direction.",),
        paper="Box 2, Equation (5)",
    )


# --------------------------------------------------------------------------- eq8
@derivation("eq8")
def eq8() -> Result:
    """E[ΔF] for Δw = Δc + Δε, from eq2, the assumptions (3a), (3b) and Q (eq5)."""
    second = get("eq2").closed_form
    curvature = get("eq5").closed_form
    gc, ge, cHc, eHc, eHe = sp.symbols("gc ge cHc eHc eHe", real=True)
    steps: list[Step] = []
    checks: list[Check] = []
    # Bilinear expansion of (Δc+Δε)ᵀH(Δc+Δε) with H symmetric, on explicit vectors (N = 3).
    size = 3
    c, e, g = _vec("c", size), _vec("e", size), _vec("g", size)
    H = _sym_matrix("h", size)
    dw = c + e
    explicit = second.subs({g_dot_dw: (g.T * dw)[0], dw_H_dw: (dw.T * H * dw)[0]})
    pieces = {
        gc: (g.T * c)[0],
        ge: (g.T * e)[0],
        cHc: (c.T * H * c)[0],
        eHc: (e.T * H * c)[0],
        eHe: (e.T * H * e)[0],
    }
    in_pieces = second.subs({g_dot_dw: gc + ge, dw_H_dw: cHc + 2 * eHc + eHe})
    checks.append(
        Check(
            "ΔF of eq2 with Δw = Δc+Δε splits into ∇FᵀΔc, ∇FᵀΔε, ΔcᵀHΔc, ΔεᵀHΔc, ΔεᵀHΔε (H symmetric)",
            is_zero(in_pieces.subs(pieces) - explicit),
        )
    )
    steps.append(Step("Substitute Δw = Δc + Δε into eq2 (∇²F symmetric).", in_pieces))
    random = (ge, eHc, eHe)
    checks.append(
        Check(
            "ΔF is affine in the random pieces, so E passes through",
            all(sp.diff(in_pieces, s, 2) == 0 for s in random),
        )
    )
    # Δc is chosen by the rule, Δε is random with fixed norm: E over Δε.
    expectation = {ge: 0, eHc: 0, eHe: eps_norm**2 * Q_eps}
    expected = in_pieces.subs(expectation)
    steps.append(
        Step(
            "Take E over Δε: E[∇FᵀΔε] = 0 (3a), E[Δεᵀ∇²FΔc] = 0 (3b), "
            "E[Δεᵀ∇²FΔε] = ‖Δε‖² Q[Δε] (eq5, Q[Δε] in expectation).",
            expected,
        )
    )
    named = {gc: c_norm * grad_dot_chat, cHc: c_norm**2 * Q_c}
    closed = sp.expand(expected.subs(named))
    steps.append(Step("Write ∇FᵀΔc = ‖Δc‖∇FᵀΔĉ and ΔcᵀHΔc = ‖Δc‖²Q[Δc] (eq5).", closed))
    # The identifications used above, checked.
    c_len = sp.sqrt((c.T * c)[0])
    checks.append(Check("∇FᵀΔc = ‖Δc‖ ∇FᵀΔĉ", is_zero(pieces[gc] - c_len * (g.T * (c / c_len))[0])))
    q_c = curvature.subs({v_H_v: pieces[cHc], v_norm: c_len})
    checks.append(Check("ΔcᵀHΔc = ‖Δc‖² Q[Δc] with Q from eq5", is_zero(c_len**2 * q_c - pieces[cHc])))
    # Independent: exact average over Δε uniform on a circle (N = 2), quadratic F.
    theta = sp.Symbol("theta", real=True)
    c2, g2 = _vec("c", 2), _vec("g", 2)
    H2 = _sym_matrix("h", 2)
    eps = eps_norm * sp.Matrix([sp.cos(theta), sp.sin(theta)])
    dw2 = c2 + eps
    exact = _circle_average((g2.T * dw2)[0] + (dw2.T * H2 * dw2)[0] / 2, theta)
    c2_len = sp.sqrt((c2.T * c2)[0])
    predicted = closed.subs(
        {
            c_norm: c2_len,
            grad_dot_chat: (g2.T * c2)[0] / c2_len,
            Q_c: (c2.T * H2 * c2)[0] / c2_len**2,
            Q_eps: H2.trace() / 2,
        }
    )
    checks.append(
        Check(
            "exact circle average of ΔF for a quadratic F equals eq8 with Q[Δε] = Tr(∇²F)/2",
            is_zero(exact - predicted),
        )
    )
    # Consistency with eq4: no compensation and isotropic Q[Δε] = Tr/N gives the fluctuation result.
    fluct = get("eq4").closed_form
    checks.append(
        Check(
            "‖Δc‖ = 0 with Q[Δε] = Tr(∇²F)/N reduces eq8 to eq4",
            is_zero(closed.subs({c_norm: 0, Q_eps: trace_H / n}) - fluct.subs(dw_norm, eps_norm)),
        )
    )
    return Result(
        id="eq8",
        title="Expected change in loss under compensation and fluctuation",
        statement=sp.Eq(E_Delta_F, closed),
        closed_form=closed,
        args=(c_norm, grad_dot_chat, eps_norm, Q_c, Q_eps),
        conditions=(
            Condition("assumptions (3a) and (3b) of eq3; second order in ‖Δc + Δε‖ (eq2)"),
            Condition("Δc is fixed given w; Δε random with fixed norm ‖Δε‖"),
        ),
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Q_eps is E[Q[Δε]]; for isotropic Δε it equals Tr(∇²F)/N (eq12).",),
        paper="Box 3, Equation (8)",
    )
