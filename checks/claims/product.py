"""Claims that the toolkit's own numerics (the code users run) match independent ground truths.

Each claim calls the product -- :mod:`plasticity.numerics.curvature`, :mod:`plasticity.numerics.rules`,
:mod:`plasticity.numerics.landscapes` -- and compares it with something computed another way, named in
the claim's conditions: the Rayleigh quotient and ``numpy.linalg.eigh`` of an explicitly
built Hessian, a linear solve, exact moments of Rademacher and Gaussian draws, or finite
differences at a stated bound.  Nothing here goes through the closed form under test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from plasticity.checks import strategies as cs
from plasticity.checks.claims.helpers import (
    EPS,
    Z_MC,
    _cond,
    _rounding_tol,
    rademacher_variance,
    within_standard_errors,
)
from plasticity.checks.claims.registry import Outcome, check_property, claim, holds
from plasticity.checks.profiles import Profile

#: Hutchinson probes per example: enough that the reported standard error can itself be
#: checked against the exact one to ±35% at Z_MC standard errors whatever the kurtosis (a
#: wrong √n in it is a factor 63)
HUTCHINSON_PROBES = 4000


def _explicit_rayleigh(H: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Ground truth for Q: vᵀHv/‖v‖² of each row of V, written out in numpy."""
    return np.einsum("ki,ij,kj->k", V, H, V) / np.einsum("ki,ki->k", V, V)


def _rel(a: float, b: float, scale: float) -> float:
    return abs(a - b) / scale


@claim(
    "curvature_numerics",
    "plasticity.numerics.curvature on a Quadratic landscape: Q, the exact Tr/N and the extreme eigenvalues "
    "equal those of the explicit Hessian; Hutchinson's Tr/N is within its standard error of the "
    "trace, and that standard error is the exact one for Rademacher probes",
    conditions=(
        "ground truth: vᵀHv/‖v‖² and numpy.linalg.eigh of the explicitly built H",
        "ground truth: Var(zᵀHz) = 2(‖H‖_F² − Σ H_ii²) for Rademacher z (exact moment)",
    ),
    tags=("product", "curvature"),
)
def _curvature(profile: Profile) -> Outcome:
    from plasticity.numerics import curvature
    from plasticity.numerics.landscapes import Quadratic

    strategy = st.tuples(cs.hessians(cs.dimensions(2, profile.max_dim), kind="indefinite"), cs.seeds())

    def evaluate(example: tuple[cs.SymmetricHessian, int]) -> tuple[float, dict[str, Any]]:
        hess, seed = example
        H, n = hess.H, hess.n
        rng = np.random.default_rng(seed)
        land = Quadratic(H=H)
        w = rng.standard_normal(n)
        V = rng.standard_normal((5, n))
        scale = float(np.abs(hess.eigvals).max())
        # float64 rounding of N-term sums against max|λ|: 100·N·κ·ε relative (helpers)
        tol = _rounding_tol(n, _cond(hess.eigvals))
        lam = np.linalg.eigvalsh(H)
        m_q = 1 - float(np.max(np.abs(curvature.Q(land, w, V) - _explicit_rayleigh(H, V)))) / scale / tol
        tr = float(np.trace(H)) / n
        exact = curvature.trace_over_n(land, w, exact=True)
        m_tr = 1 - _rel(exact.value, tr, scale) / tol
        ext = curvature.extreme_eigenvalues(land, w, exact=True)
        m_ext = 1 - max(_rel(ext.min, lam[0], scale), _rel(ext.max, lam[-1], scale)) / tol
        hut = curvature.trace_over_n(land, w, exact=False, n_probes=HUTCHINSON_PROBES, rng=rng)
        var1 = rademacher_variance(H) / n**2
        se_true = math.sqrt(var1 / HUTCHINSON_PROBES)
        if se_true <= tol * scale:  # a diagonal H: every probe gives Tr/N exactly
            m_hut = 1 - _rel(hut.value, tr, scale) / tol
            m_se = 1 - hut.stderr / (tol * scale)
        else:
            m_hut = 1 - abs(hut.value - tr) / (Z_MC * se_true)
            # the sample s.d. of m probes has relative error √((κ₄ − 1)/(4m)) for kurtosis κ₄;
            # zᵀHz is a degree-2 Rademacher chaos, so κ₄ ≤ 3⁴ = 81 (Bonami's hypercontractivity)
            m_se = 1 - abs(hut.stderr / se_true - 1) / (Z_MC * math.sqrt(80 / (4 * HUTCHINSON_PROBES)))
        margins = {
            "Q": m_q,
            "trace_exact": m_tr,
            "extremes": m_ext,
            "hutchinson": m_hut,
            "hutchinson_se": m_se,
        }
        return min(margins.values()), {
            "n": n,
            "margins": margins,
            "trace_over_n": tr,
            "hutchinson": [hut.value, hut.stderr],
            "stderr_exact": se_true,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance="100·N·κ·ε relative (rounding); Hutchinson: Z_MC exact standard errors",
    )


@claim(
    "rules_numerics",
    "plasticity.numerics.rules on a Quadratic landscape: the Newton rule steps along −(∇²F)⁻¹∇F, "
    "zeroth-order "
    "compensation never raises F to first order, noisy gradient compensation has mean −γ₁∇̂F and "
    "mean square γ₁² + γ₂² with γ₂/γ₁ the noise-to-signal ratio, and fluctuations are isotropic",
    conditions=(
        "ground truth: numpy.linalg.solve with the explicit H; the sign of ∇F·u from ∇F = H(w − w*)",
        "ground truth: exact Gaussian moments E[ν̂] = 0, E[ν̂ν̂ᵀ] = I/N",
    ),
    tags=("product", "rules"),
)
def _rules(profile: Profile) -> Outcome:
    from plasticity.numerics import rules
    from plasticity.numerics.landscapes import Quadratic

    strategy = st.tuples(
        cs.hessians(cs.dimensions(2, profile.max_dim), max_condition=1e2),
        cs.seeds(),
        cs.noise_levels(0.1, 10.0),
    )

    def evaluate(example: tuple[cs.SymmetricHessian, int, float]) -> tuple[float, dict[str, Any]]:
        hess, seed, nts = example
        H, n = hess.H, hess.n
        rng = np.random.default_rng(seed)
        land = Quadratic(H=H)
        w = rng.standard_normal(n)
        g = H @ w  # ∇F of ½wᵀHw (w* = 0)
        tol = _rounding_tol(n, _cond(hess.eigvals)) * _cond(hess.eigvals)  # a solve adds κ
        newton = rules.newton(land, w, 1.0)
        truth = -np.linalg.solve(H, g)
        truth /= np.linalg.norm(truth)
        m_newton = 1 - float(np.linalg.norm(newton - truth)) / tol
        # zeroth order: 2000 probes; the step's first-order change ∇F·Δc must never be positive
        # beyond the probe's own error (δ²·‖H‖ relative to ‖∇F‖, δ = ε^⅓)
        W = np.tile(w, (2000, 1))
        dc = rules.zeroth_order(land, W, rng, 1.0)
        slope = dc @ g / np.linalg.norm(g)
        # a central difference is exact on a quadratic up to rounding ε|F|/δ, so a wrong sign
        # needs |ĝ·u| ≤ ε^⅔·κ·max(1, ‖w‖)/2; 10 of those bound it
        allowance = 10 * EPS ** (2 / 3) * _cond(hess.eigvals) * max(1.0, float(np.linalg.norm(w)))
        m_zeroth = 1 - float(max(slope.max(), 0.0)) / allowance
        # noisy gradient: γ₁, γ₂ from ‖Δc‖ = 1 and γ₂/γ₁ = nts, ν isotropic
        k = 4000
        G = np.tile(g, (k, 1))
        step = rules.noisy_gradient(G, rng, 1.0, nts)
        g1, g2 = 1 / math.sqrt(1 + nts**2), nts / math.sqrt(1 + nts**2)
        ghat = g / np.linalg.norm(g)
        along = step @ ghat
        # along = −γ₁ + γ₂ ν̂·ĝ: mean −γ₁, variance γ₂²/N (exact moments of ν̂)
        m_mean = 1 - abs(float(along.mean()) + g1) / (Z_MC * g2 / math.sqrt(n * k))
        sq = np.einsum("ki,ki->k", step, step)
        # ‖Δc‖² = γ₁² + γ₂² − 2γ₁γ₂ ν̂·ĝ: mean γ₁² + γ₂², s.d. 2γ₁γ₂/√N per draw
        m_sq = 1 - abs(float(sq.mean()) - (g1**2 + g2**2)) / (Z_MC * 2 * g1 * g2 / math.sqrt(n * k) + 1e-12)
        # beeline: the unit step straight from w to the known minimum (here w* = 0)
        bee = rules.beeline(w, np.zeros(n), 1.0)
        m_beeline = 1 - float(np.linalg.norm(bee + w / np.linalg.norm(w))) / tol
        # fluctuations: each coordinate of Δε/‖Δε‖ has mean 0 and variance 1/N
        eps = rules.fluctuation(rng, (k, n), 1.0)
        m_iso = 1 - float(np.max(np.abs(eps.mean(axis=0)))) / (Z_MC / math.sqrt(n * k))
        margins = {
            "newton_direction": m_newton,
            "beeline_direction": m_beeline,
            "zeroth_order_descends": m_zeroth,
            "noisy_mean": m_mean,
            "noisy_mean_square": m_sq,
            "fluctuation_isotropic": m_iso,
        }
        return min(margins.values()), {"n": n, "noise_to_signal": nts, "margins": margins}

    return check_property(
        strategy, evaluate, profile, tolerance="100·N·κ²·ε (solve); Z_MC standard errors of exact moments"
    )


@claim(
    "landscapes_numerics",
    "plasticity.numerics.landscapes: a Quadratic's F, ∇F and HVPs are ½xᵀHx, Hx and Hv; a "
    "FunctionLandscape given F only differentiates it to within its own stated finite-difference "
    "error, and one given its Hessian uses it at every point asked",
    conditions=(
        "ground truth: the quadratic and the quartic F = ½xᵀHx + (κ/4)Σx⁴ differentiated by hand "
        "(∇F = Hx + κx³, ∇²F = H + 3κ diag(x²))",
    ),
    tags=("product", "landscapes"),
)
def _landscapes(profile: Profile) -> Outcome:
    from plasticity.numerics.landscapes import FunctionLandscape, Quadratic

    strategy = st.tuples(
        cs.hessians(cs.dimensions(2, min(profile.max_dim, 6)), max_condition=1e2),
        cs.seeds(),
        cs.reals(0.0, 2.0),
    )

    def evaluate(example: tuple[cs.SymmetricHessian, int, float]) -> tuple[float, dict[str, Any]]:
        hess, seed, kappa = example
        H, n = hess.H, hess.n
        rng = np.random.default_rng(seed)
        w_star, w, v = rng.standard_normal((3, n))
        x = w - w_star
        tol = _rounding_tol(n, _cond(hess.eigvals))
        scale = float(np.abs(hess.eigvals).max()) * max(1.0, float(x @ x))
        quad = Quadratic(H=H, w_star=w_star)
        m_quad = (
            1
            - max(
                abs(quad.loss(w) - 0.5 * x @ H @ x) / scale,
                float(np.max(np.abs(quad.grad(w) - H @ x))) / scale,
                float(np.max(np.abs(quad.hvp(w, v) - H @ v))) / scale / max(1.0, float(v @ v)),
            )
            / tol
        )

        def quartic(y: np.ndarray) -> float:
            z = y - w_star
            return float(0.5 * z @ H @ z + 0.25 * kappa * np.sum(z**4))

        grad = H @ x + kappa * x**3
        hessian = H + 3 * kappa * np.diag(x**2)
        land = FunctionLandscape(quartic, n)
        # the stated error of each difference, with a factor 10 for the estimate's own error
        # (it measures truncation from two step sizes and adds ε|F|/h for rounding)
        g_err = 10 * land.fd_error_estimate(w) + tol * float(np.abs(grad).max())
        m_grad = 1 - float(np.max(np.abs(land.grad(w) - grad) / g_err))
        h_err = 10 * land.fd_error_estimate(w, v) + tol * float(np.abs(hessian @ v).max())
        m_hvp = 1 - float(np.max(np.abs(land.hvp(w, v) - hessian @ v) / h_err))
        # a supplied Hessian is used as given, at every point asked (it is kept per point): the
        # quartic's HVPs at w and at a second point match the hand-derived Hessian there
        exact = FunctionLandscape(quartic, n, hess=lambda y: H + 3 * kappa * np.diag((y - w_star) ** 2))
        w2 = w + rng.standard_normal(n)
        hessian2 = H + 3 * kappa * np.diag((w2 - w_star) ** 2)
        hv_scale = max(float(np.abs(hessian2 @ v).max()), float(np.abs(hessian @ v).max()))
        m_supplied = 1 - max(
            float(np.max(np.abs(exact.hvp(w, v) - hessian @ v))),
            float(np.max(np.abs(exact.hvp(w2, v) - hessian2 @ v))),
        ) / (tol * hv_scale * max(1.0, float(np.abs(v).sum())))
        margins = {
            "quadratic": m_quad,
            "fd_gradient": m_grad,
            "fd_hvp": m_hvp,
            "supplied_hessian": m_supplied,
        }
        return min(margins.values()), {"n": n, "kappa": kappa, "margins": margins}

    return check_property(
        strategy, evaluate, profile, tolerance="100·N·κ·ε (rounding); 10× the stated finite-difference error"
    )


@claim(
    "experiment_protocol",
    "The paper's sweep protocol as run: every Figure 5 and 5-S1 run (quick and full) has fluctuations "
    "of norm ‖Δε‖ = f·√N, Q and ‖∇F‖ are measured in the final steady-state window, bootstrap "
    "batches are drawn with replacement, and one step of the engine without compensation moves "
    "the weights by exactly ‖Δε‖",
    conditions=(
        "ground truth: the paper's protocol ‖Δε‖ = f√N, with N counted from the layer shapes",
        "float32 weights: the realised step agrees to 10 float32 roundings of its norm",
    ),
    tags=("product", "protocol"),
)
def _protocol(profile: Profile) -> Outcome:
    from plasticity.numerics import dynamics
    from plasticity.numerics.experiments import experiment

    margins: dict[str, float] = {}
    rows = []
    for name in ("fig5", "fig5s1"):
        for scale in ("quick", "full"):
            exp = experiment(name, scale)
            shapes = {"nonlinear": ((20, 12), (10, 20)), "linear": ((10, 12),)}[exp.network]
            n = sum(o * i for o, i in shapes)  # N counted by hand from the layer shapes
            t = exp.table()
            want = t["fluct_per_sqrtN"] * math.sqrt(n)
            margins[f"{name}/{scale}"] = 1 - float(np.max(np.abs(t["eps_norm"] - want) / want)) / (8 * EPS)
            # Q and ‖∇F‖ are measured in the steady-state window: the last `window` steps
            proto = exp.protocol
            at = proto.measure_steps(proto.steps)
            inside = bool(at.size) and at.min() >= proto.steps - proto.window and at.max() < proto.steps
            margins[f"{name}/{scale}/measured_in_window"] = 1.0 if inside or not proto.measure_every else -1.0
            if scale == "quick":
                idx = np.arange(min(4, len(t["eps_norm"])))
                runs = dynamics.Runs(
                    t["eps_norm"][idx], np.zeros(idx.size), t["noise_to_signal"][idx], idx.astype(np.int64)
                )
                state = dynamics.init_state(exp.network, runs, exp.protocol, seed=profile.seed)
                w0 = state.weights.astype(np.float64)
                dynamics.advance(state, 1)
                moved = np.linalg.norm(state.weights.astype(np.float64) - w0, axis=1)
                f32 = float(np.finfo(np.float32).eps)
                rel = float(np.max(np.abs(moved - runs.eps_norm) / runs.eps_norm))
                margins[f"{name}/realised_step"] = 1 - rel / (10 * f32 * math.sqrt(n))
                rows.append({"experiment": name, "N": n, "realised": moved, "eps_norm": runs.eps_norm})
                if exp.protocol.bootstrap:
                    # bootstrap batches of s samples from p drawn with replacement: each of the
                    # p samples is missed with probability (1 − 1/p)^s, ≈ e⁻¹ for s = p
                    draws = state.draws[0]
                    draws.refill()
                    counts = draws.counts
                    p, s_ = counts.shape[1], exp.protocol.batch_size
                    missed = float(np.mean(counts == 0))
                    want = (1 - 1 / p) ** s_
                    se = math.sqrt(want * (1 - want) / counts.size)
                    margins[f"{name}/bootstrap_with_replacement"] = within_standard_errors(missed - want, se)
                    sums = counts.sum(axis=1)
                    margins[f"{name}/bootstrap_batch_size"] = 1.0 if np.all(sums == s_) else -1.0
    worst = min(margins.values())
    return Outcome(
        ok=holds(worst),
        examples=len(margins),
        worst_margin=worst,
        tolerance="8 ε relative (the table); 10·√N float32 roundings (the realised step)",
        evidence={"margins": margins, "steps": rows},
    )


def _central(f: Any, w: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    return (np.asarray(f(w + h * v)) - np.asarray(f(w - h * v))) / (2 * h)


def _fd_with_bound(f: Any, w: np.ndarray, v: np.ndarray, h: float, rounding: float) -> tuple[Any, float]:
    """A central difference of f along v and a bound on the norm of its error: truncation
    ‖D(h) − D(2h)‖/3 (the error is ∝ h², so it quadruples with 2h) plus the rounding of f's
    values (``rounding``, absolute, per component) divided by h, times 10.  Norm-wise, since
    one component of D(h) − D(2h) can vanish by accident."""
    d1, d2 = _central(f, w, v, h), _central(f, w, v, 2 * h)
    size = math.sqrt(np.size(d1))
    return d1, 10 * (float(np.linalg.norm(d1 - d2)) / 3 + rounding * size / h)


@claim(
    "network_curvature",
    "plasticity.numerics.networks on the paper's 12→20→10 sigmoid network (NetworkLandscape): the exact "
    "gradient, the R-operator Hessian-vector product and the structured Hessian agree with central "
    "finite differences of F and of ∇F to within the differences' own error bounds",
    conditions=("ground truth: central differences at two step sizes (truncation + rounding bound)",),
    tags=("product", "network"),
)
def _network_curvature(profile: Profile) -> Outcome:
    from plasticity.numerics import networks
    from plasticity.numerics.landscapes import NetworkLandscape

    strategy = st.tuples(cs.seeds(), cs.reals(0.01, 0.5))

    def evaluate(example: tuple[int, float]) -> tuple[float, dict[str, Any]]:
        seed, spread = example
        rng = np.random.default_rng(seed)
        st_ = networks.student_teacher(networks.NONLINEAR, rng, n_inputs=50)
        land = NetworkLandscape(networks.NONLINEAR, st_.teacher, st_.inputs)
        w = st_.teacher + spread * rng.standard_normal(land.n) * np.abs(st_.teacher).mean()
        v = rng.standard_normal(land.n)
        v /= np.linalg.norm(v)
        h = EPS ** (1 / 3)
        # F is a mean of P·o non-negative squared residuals: summing them rounds by at most
        # P·o·ε·F (no cancellation); the gradient's components are sums over the P samples
        terms = st_.inputs.shape[0] * networks.NONLINEAR.sizes[-1]
        slope, slope_err = _fd_with_bound(land.loss, w, v, h, terms * EPS * abs(land.loss(w)))
        m_grad = 1 - abs(float(land.grad(w) @ v) - float(slope)) / slope_err
        g_scale = float(np.abs(land.grad(w)).max())
        hv_fd, hv_err = _fd_with_bound(land.grad, w, v, h, terms * EPS * g_scale)
        m_hvp = 1 - float(np.linalg.norm(land.hvp(w, v) - hv_fd)) / hv_err
        m_hess = 1 - float(np.linalg.norm(land.hessian(w) @ v - hv_fd)) / hv_err
        margins = {"gradient": m_grad, "hvp": m_hvp, "hessian": m_hess}
        return min(margins.values()), {"loss": float(land.loss(w)), "margins": margins}

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance="10× the central difference's bound (truncation from two steps + rounding)",
        max_examples=min(profile.max_examples, 10),
    )


@claim(
    "engine_kernels",
    "The engine's float32 step kernel (plasticity.numerics.dynamics.kernels) gives the loss and every "
    "layer's gradient of the paper's nonlinear network as the exact float64 path does, to float32 "
    "rounding, with and without bootstrap weights",
    conditions=(
        "ground truth: plasticity.numerics.networks.BatchPass in float64 on the same float32 inputs",
        "states at initialisation against unrelated targets: residuals of order 1, no cancellation",
    ),
    tags=("product", "network"),
)
def _engine_kernels(profile: Profile) -> Outcome:
    from plasticity.numerics import networks
    from plasticity.numerics.dynamics import kernels
    from plasticity.numerics.networks import BatchPass

    arch = networks.NONLINEAR
    c, p = 3, 300
    o = arch.sizes[-1]
    rng = np.random.default_rng(profile.seed)
    w = np.stack([networks.pack(networks.init_weights(arch, rng, np.float32)) for _ in range(c)])
    x = rng.standard_normal((c, arch.sizes[0], p), dtype=np.float32)
    y = rng.standard_normal((c, o, p), dtype=np.float32)
    counts = np.stack([np.bincount(rng.integers(0, p, p), minlength=p) for _ in range(c)]).astype(np.float32)
    # a sum of K ≈ P + fan-ins + 10 float32 roundings of terms of one sign-mixed size is within
    # K·u ≈ 2e-5 relative of its majorant; with order-1 residuals the majorant is within a small
    # factor of the value, so 1e-3 relative is far above rounding and far below a wrong factor
    tol = 1e-3
    margins: dict[str, float] = {}
    for label, cnt in (("full_batch", None), ("bootstrap", counts)):
        denom = o * p
        full_weight = np.float32(2.0 / denom)
        weight = cnt * full_weight if cnt is not None else full_weight
        work = kernels.Work(arch, c, p)
        grad = np.empty_like(w)
        loss = kernels.nonlinear_loss_grad(
            x, y, weight, networks.unpack(w, arch), networks.unpack(grad, arch), work.views(c, p)
        )
        exact = BatchPass(
            arch,
            w.astype(np.float64),
            x.astype(np.float64),
            y.astype(np.float64),
            None if cnt is None else cnt.astype(np.float64),
        )
        margins[f"{label}/loss"] = 1 - float(np.max(np.abs(loss - exact.loss) / exact.loss)) / tol
        g64 = exact.gradient()
        offset = 0
        for layer, (rows, cols) in enumerate(arch.shapes):
            size = rows * cols
            block, ref = grad[:, offset : offset + size], g64[:, offset : offset + size]
            rel = np.linalg.norm(block - ref, axis=1) / np.linalg.norm(ref, axis=1)
            margins[f"{label}/layer{layer + 1}_gradient"] = 1 - float(rel.max()) / tol
            offset += size
    worst = min(margins.values())
    return Outcome(
        ok=holds(worst),
        examples=2 * c,
        worst_margin=worst,
        tolerance="1e-3 relative: ≥ 50× the float32 accumulation bound K·u",
        evidence={"margins": margins},
    )


@claim(
    "matfree_numerics",
    "plasticity.numerics.matfree on a Quadratic landscape with an indefinite or definite H: each "
    "Lanczos extreme eigenvalue is within its stated bound of the true one, MINRES's reported "
    "residual is the true ‖Hs + ∇F‖/‖∇F‖, small at convergence, and its step is −H⁻¹∇F to within "
    "that residual, Q of "
    "the step is within its stated bound, and adaptive Hutchinson's Tr/N and standard error "
    "are those of Rademacher probes, plain and deflated by a sketched basis (Hutch++)",
    conditions=(
        "ground truth: numpy.linalg.eigh, numpy.linalg.solve and vᵀHv/‖v‖² of the explicitly built H",
        "ground truth: ‖s − s*‖ ≤ ‖Hs + ∇F‖/min|λ| with min|λ| from eigh (the residual bound)",
        "ground truth: Var(zᵀHz) = 2(‖H‖_F² − Σ H_ii²) for Rademacher z (exact moment)",
        "ground truth: deflated by Q, Tr H = Tr(QᵀHQ) + Tr(PHP) and Var = 2(‖PHP‖_F² − Σ (PHP)ᵢᵢ²), "
        "P = I − QQᵀ, from the explicit H",
    ),
    tags=("product", "curvature", "matrix-free"),
)
def _matfree(profile: Profile) -> Outcome:
    from plasticity.numerics import matfree
    from plasticity.numerics.landscapes import Quadratic

    strategy = st.tuples(
        st.one_of(
            cs.hessians(cs.dimensions(3, profile.max_dim), kind="indefinite"),
            cs.hessians(cs.dimensions(3, profile.max_dim), kind="positive definite"),
        ),
        cs.seeds(),
    )

    def evaluate(example: tuple[cs.SymmetricHessian, int]) -> tuple[float, dict[str, Any]]:
        hess, seed = example
        H, n = hess.H, hess.n
        rng = np.random.default_rng(seed)
        land = Quadratic(H=H)
        w = rng.standard_normal(n)
        g = H @ w
        lam = np.linalg.eigvalsh(H)
        scale = float(np.abs(lam).max())
        tol = _rounding_tol(n, _cond(hess.eigvals))
        op = matfree.HessianOperator(land, w)
        ext = matfree.extreme_eigenvalues(op, rng=rng)
        # the stated bound itself, plus float64 rounding of the comparison
        m_min = 1 - abs(ext.min.value - lam[0]) / (ext.min.bound + tol * scale)
        m_max = 1 - abs(ext.max.value - lam[-1]) / (ext.max.bound + tol * scale)
        step = matfree.newton_step(op, g, ext)
        s = step.step
        r_true = float(np.linalg.norm(H @ s + g) / np.linalg.norm(g))
        m_res = 1 - abs(step.relative_residual - r_true) / (tol * (1 + r_true))
        # MINRES on N ≤ max_dim must converge (N Lanczos steps span the space); its rtol 1e-10
        # bounds the residual relative to ‖H‖‖s‖, so ‖Hs + ∇F‖/‖∇F‖ ≤ 100·κ·1e-10 (+ rounding)
        m_conv = 1 - r_true / (100 * _cond(lam) * 1e-10 + tol) if step.converged else -1.0
        s_true = -np.linalg.solve(H, g)
        sigma = float(np.abs(lam).min())
        # ‖s − s*‖ = ‖H⁻¹(Hs + ∇F)‖ ≤ ‖Hs + ∇F‖/min|λ|, plus the solve's own rounding κ·tol
        allowed = r_true * float(np.linalg.norm(g)) / sigma + tol * _cond(lam) * float(np.linalg.norm(s_true))
        m_step = 1 - float(np.linalg.norm(s - s_true)) / allowed
        q_true = float(s_true @ H @ s_true / (s_true @ s_true))
        m_q = (
            1 - abs(step.q.value - q_true) / (step.q.bound + tol * scale)
            if np.isfinite(step.q.bound)
            else 1.0
        )
        est = matfree.trace_over_n_adaptive(
            op, boundaries=[], block=HUTCHINSON_PROBES, max_probes=HUTCHINSON_PROBES, rng=rng, exact=False
        )
        tr = float(np.trace(H)) / n
        se_true = math.sqrt(rademacher_variance(H) / HUTCHINSON_PROBES) / n
        if se_true <= tol * scale:  # a diagonal H: every probe gives Tr/N exactly
            m_hut = 1 - abs(est.figure.value - tr) / (tol * scale)
            m_se = 1 - est.figure.stderr / (tol * scale)
        else:
            m_hut = within_standard_errors(est.figure.value - tr, se_true)
            # sample s.d. of m probes: relative error √((κ₄ − 1)/(4m)), κ₄ ≤ 81 (Bonami)
            m_se = 1 - abs(est.figure.stderr / se_true - 1) / (Z_MC * math.sqrt(80 / (4 * HUTCHINSON_PROBES)))
        # deflated by a sketch of half the dimensions: the exact moments of PHP given Q
        Q = matfree.sketch_basis(op, max(1, n // 2), rng)
        est_d = matfree.trace_over_n_adaptive(
            op,
            boundaries=[],
            block=HUTCHINSON_PROBES,
            max_probes=HUTCHINSON_PROBES,
            rng=rng,
            exact=False,
            basis=Q,
        )
        P = np.eye(n) - Q @ Q.T
        D = P @ H @ P
        se_d = math.sqrt(rademacher_variance(D) / HUTCHINSON_PROBES) / n
        if se_d <= tol * scale:  # PHP diagonal: every probe gives its trace exactly
            m_hut_d = 1 - abs(est_d.figure.value - tr) / (tol * scale)
            m_se_d = 1 - est_d.figure.stderr / (tol * scale)
        else:
            m_hut_d = within_standard_errors(est_d.figure.value - tr, se_d)
            m_se_d = 1 - abs(est_d.figure.stderr / se_d - 1) / (
                Z_MC * math.sqrt(80 / (4 * HUTCHINSON_PROBES))
            )
        margins = {
            "lambda_min": m_min,
            "lambda_max": m_max,
            "newton_residual": m_res,
            "newton_converged": m_conv,
            "newton_step": m_step,
            "newton_q": m_q,
            "hutchinson": m_hut,
            "hutchinson_se": m_se,
            "hutchinson_deflated": m_hut_d,
            "hutchinson_deflated_se": m_se_d,
        }
        return min(margins.values()), {
            "n": n,
            "margins": margins,
            "bounds": [ext.min.bound, ext.max.bound, step.q.bound],
            "relative_residual": step.relative_residual,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance="each figure's own stated bound + 100·N·κ·ε; Hutchinson: Z_MC exact standard errors",
    )
