"""The catalogue of seeded bugs that measures `plasticity verify` (see :mod:`plasticity.checks.mutants`).

Each entry is one plausible single-site bug: the exact text ``old`` in ``path`` (relative to the
source root) replaced by ``new``.  ``what`` says what the bug breaks, in the mathematics' terms.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the kinds of bug the catalogue covers
KINDS = ("coefficient", "exponent", "sign", "norm", "window", "sampling", "threshold")


@dataclass(frozen=True)
class Mutant:
    """One single-site bug: replace ``old`` (which must occur exactly once) by ``new``."""

    id: str
    path: str
    old: str
    new: str
    kind: str
    what: str


CATALOGUE: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ derivations (closed forms)
    Mutant(
        "eq2_half_dropped",
        "derivations/expansion.py",
        ".subs({first: g_dot_dw, second: dw_H_dw}))",
        ".subs({first: g_dot_dw, second: 2 * dw_H_dw}))",
        "coefficient",
        "eq2 loses the ½ on its curvature term; everything downstream re-derives consistently",
    ),
    Mutant(
        "eq5_norm_not_squared",
        "derivations/expansion.py",
        "closed = v_H_v / v_norm**2",
        "closed = v_H_v / v_norm",
        "norm",
        "Q[v] divides by ‖v‖ instead of ‖v‖²",
    ),
    Mutant(
        "eq12_trace_over_2n",
        "derivations/curvature.py",
        "closed = trace_H / n",
        "closed = trace_H / (2 * n)",
        "coefficient",
        "E[Q[Δε]] = Tr/(2N) instead of Tr/N",
    ),
    Mutant(
        "eq13_projection_not_squared",
        "derivations/curvature.py",
        "closed = total(lam[i] ** 3 * c[i] ** 2) / total(lam[i] ** 2 * c[i] ** 2)",
        "closed = total(lam[i] ** 3 * c[i] ** 2) / total(lam[i] ** 2 * c[i])",
        "exponent",
        "Q[∇F] on a quadratic with an unsquared projection in the denominator",
    ),
    Mutant(
        "eq14_exponent",
        "derivations/curvature.py",
        "closed = total(lam[i] ** 3) / total(lam[i] ** 2)",
        "closed = total(lam[i] ** 2) / total(lam[i])",
        "exponent",
        "eq14 as Σλ²/Σλ instead of Σλ³/Σλ²",
    ),
    Mutant(
        "si_newton_exponent",
        "derivations/curvature.py",
        "closed = total(1 / lam_pos[i]) / total(1 / lam_pos[i] ** 2)",
        "closed = total(1 / lam_pos[i] ** 2) / total(1 / lam_pos[i] ** 3)",
        "exponent",
        "Newton compensation's Q with one power too many",
    ),
    Mutant(
        "si_noisy_unsquared",
        "derivations/curvature.py",
        "closed = (tilde_norm**2 * Q_tilde + nu_norm**2 * Q_nu) / (tilde_norm**2 + nu_norm**2)",
        "closed = (tilde_norm * Q_tilde + nu_norm * Q_nu) / (tilde_norm + nu_norm)",
        "exponent",
        "noisy compensation's Q weighted by norms instead of squared norms",
    ),
    Mutant(
        "var_dF_coefficient",
        "derivations/variance.py",
        "/ (2 * n**2 * (n + 2))",
        "/ (n**2 * (n + 2))",
        "coefficient",
        "Var ΔF's fluctuation term twice too large",
    ),
    # ------------------------------------------------------------------ numerics: curvature
    Mutant(
        "Q_divides_by_norm",
        "numerics/curvature.py",
        "q = Q_from_products(vhv, np.linalg.norm(V, axis=-1))",
        "q = Q_from_products(vhv, np.sqrt(np.linalg.norm(V, axis=-1)))",
        "norm",
        "plasticity.numerics.curvature.Q divides vᵀHv by ‖v‖ instead of ‖v‖²",
    ),
    Mutant(
        "hutchinson_missing_1_over_n",
        "numerics/curvature.py",
        'samples[start : start + m] = np.einsum("ki,ki->k", Z, HZ) / n',
        'samples[start : start + m] = np.einsum("ki,ki->k", Z, HZ)',
        "coefficient",
        "Hutchinson's Tr/N estimate misses its 1/N",
    ),
    Mutant(
        "hutchinson_biased_probes",
        "numerics/curvature.py",
        "Z = gen.choice(np.array([-1.0, 1.0]), size=(m, n))",
        "Z = gen.choice(np.array([0.0, 1.0]), size=(m, n))",
        "sampling",
        "Hutchinson probes drawn from {0, 1} instead of Rademacher {−1, 1}",
    ),
    Mutant(
        "hutchinson_stderr",
        "numerics/curvature.py",
        'float(np.std(samples, ddof=1) / np.sqrt(n_probes)), "hutchinson"',
        'float(np.std(samples, ddof=1) / n_probes), "hutchinson"',
        "norm",
        "Hutchinson's standard error divides by n instead of √n",
    ),
    Mutant(
        "exact_trace_n_minus_1",
        "numerics/curvature.py",
        'return Estimate(float(np.sum(_diagonal(landscape, w)) / n), 0.0, "exact")',
        'return Estimate(float(np.sum(_diagonal(landscape, w)) / (n - 1)), 0.0, "exact")',
        "coefficient",
        "the exact Tr/N divides by N − 1",
    ),
    # ------------------------------------------------------------------ numerics: rules
    Mutant(
        "newton_sign",
        "numerics/rules.py",
        "directions = -((G @ U) / lam) @ U.T",
        "directions = ((G @ U) / lam) @ U.T",
        "sign",
        "the Newton rule steps uphill, +(∇²F)⁻¹∇F",
    ),
    Mutant(
        "newton_multiplies",
        "numerics/rules.py",
        "directions = -((G @ U) / lam) @ U.T",
        "directions = -((G @ U) * lam) @ U.T",
        "exponent",
        "the Newton rule multiplies by ∇²F instead of solving with it",
    ),
    Mutant(
        "zeroth_order_sign",
        "numerics/rules.py",
        "sign = np.where(np.asarray(diff) < 0, -1.0, 1.0)",
        "sign = np.where(np.asarray(diff) < 0, 1.0, -1.0)",
        "sign",
        "zeroth-order compensation keeps the direction that raises the loss",
    ),
    Mutant(
        "noisy_gradient_sign",
        "numerics/rules.py",
        'step = -_per_row(g1, lead, "γ₁") * _unit(g, "grad")',
        'step = _per_row(g1, lead, "γ₁") * _unit(g, "grad")',
        "sign",
        "noisy gradient compensation ascends the gradient",
    ),
    Mutant(
        "gammas_noise_squared_root",
        "numerics/rules.py",
        "g2 = m * np.where(small, rs, 1.0) / root",
        "g2 = m * np.where(small, rs, 1.0) / root**2",
        "exponent",
        "the noise part γ₂ scaled by 1/(1+r²) instead of 1/√(1+r²)",
    ),
    Mutant(
        "fluctuation_not_isotropic",
        "numerics/rules.py",
        "xi = _rng(rng).standard_normal(shape)",
        "xi = _rng(rng).uniform(0.0, 1.0, shape)",
        "sampling",
        "fluctuations drawn from a uniform cube corner instead of isotropically",
    ),
    # ------------------------------------------------------------------ numerics: landscapes
    Mutant(
        "quadratic_loss_no_half",
        "numerics/landscapes/quadratic.py",
        "return float(0.5 * d @ self._apply(d))",
        "return float(1.0 * d @ self._apply(d))",
        "coefficient",
        "the Quadratic landscape's F loses its ½ (inconsistent with its gradient)",
    ),
    Mutant(
        "fd_hessian_diagonal",
        "numerics/landscapes/function.py",
        "H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h[i] ** 2",
        "H[i, i] = (fp[i] - 2 * f0 + fm[i]) / (2 * h[i] ** 2)",
        "coefficient",
        "the finite-difference Hessian's diagonal halved",
    ),
    # ------------------------------------------------------------------ numerics: protocols, windows
    Mutant(
        "eps_norm_f_times_n",
        "numerics/experiments.py",
        '"eps_norm": grid[:, 1] * np.sqrt(self.n_weights),',
        '"eps_norm": grid[:, 1] * self.n_weights,',
        "norm",
        "the protocol's ‖Δε‖ = f·N instead of f√N",
    ),
    Mutant(
        "landscape_window_at_start",
        "numerics/landscape_dynamics.py",
        "tail = x[..., -window:]",
        "tail = x[..., :window]",
        "window",
        "steady-state statistics averaged over the first window instead of the last",
    ),
    Mutant(
        "landscape_stderr",
        "numerics/landscape_dynamics.py",
        "se = np.std(per_run, axis=-1, ddof=1) / np.sqrt(reps) if reps > 1",
        "se = np.std(per_run, axis=-1, ddof=1) / reps if reps > 1",
        "norm",
        "standard error over repetitions divides by n instead of √n",
    ),
    Mutant(
        "settled_window_shifted",
        "numerics/steady.py",
        "last_mean, last_se = batch_means(x[:, -window:], n_batches)",
        "last_mean, last_se = batch_means(x[:, :window], n_batches)",
        "window",
        "the settledness test compares the first window, not the last",
    ),
    # ------------------------------------------------------------------ numerics: reading ratios
    Mutant(
        "fixed_point_interpolation",
        "numerics/ratios.py",
        "return float(r[k] + (r[k + 1] - r[k]) * d[k] / (d[k] - d[k + 1]))",
        "return float(r[k] + (r[k + 1] - r[k]) * d[k + 1] / (d[k] - d[k + 1]))",
        "coefficient",
        "the eq9a fixed point interpolated from the wrong end",
    ),
    Mutant(
        "bootstrap_without_replacement",
        "numerics/ratios.py",
        "nanmean_rows(per_run[:, rng.integers(0, reps, reps)])",
        "nanmean_rows(per_run[:, rng.permutation(reps)])",
        "sampling",
        "bootstrap resamples drawn without replacement (every resample is the full sample)",
    ),
    Mutant(
        "refined_minimiser_vertex",
        "numerics/ratios.py",
        "return float(np.clip(-b / (2 * a), x0, x2)) if a > 0 else float(x1)",
        "return float(np.clip(-b / a, x0, x2)) if a > 0 else float(x1)",
        "coefficient",
        "the parabola's vertex at −b/a instead of −b/2a",
    ),
    # ------------------------------------------------------------------ numerics: networks and engine
    Mutant(
        "network_hessian_sigma2_sign",
        "numerics/networks.py",
        "E = D * (1.0 - 2.0 * h)",
        "E = D * (1.0 + 2.0 * h)",
        "sign",
        "the structured Hessian's σ″ = σ′(1 − 2σ) with the wrong sign",
    ),
    Mutant(
        "network_rop_sigma2_sign",
        "numerics/networks.py",
        "rd = rback * dl + backs[l] * (1 - 2 * acts[l]) * r_act[l]",
        "rd = rback * dl + backs[l] * (1 + 2 * acts[l]) * r_act[l]",
        "sign",
        "the R-operator HVP's σ″ term with the wrong sign (exact and batched HVPs share it)",
    ),
    Mutant(
        "engine_window_at_start",
        "numerics/dynamics/measure.py",
        'out = {"steady_loss": seg.loss[:, -nwin:].mean(axis=1)}',
        'out = {"steady_loss": seg.loss[:, :nwin].mean(axis=1)}',
        "window",
        "the engine's steady loss averaged over the first window of the segment",
    ),
    Mutant(
        "engine_measure_steps_at_start",
        "numerics/dynamics/config.py",
        "return np.arange(end - self.window, end, self.measure_every)",
        "return np.arange(0, self.window, self.measure_every)",
        "window",
        "Q[Δc], Q[Δε] and ‖∇F‖ measured at the start of the run instead of the steady-state window",
    ),
    Mutant(
        "engine_bootstrap_without_replacement",
        "numerics/dynamics/draws.py",
        "idx = g.integers(0, self.p, size=(k, self.s), dtype=np.int32 if self.p > 32767 else np.int16)",
        "idx = np.argsort(g.random((k, self.p)), axis=1)[:, : self.s].astype(np.int32)",
        "sampling",
        "bootstrap batches drawn without replacement (every batch is the full data set)",
    ),
    # ------------------------------------------------------------------ added after the claims were written
    Mutant(
        "kernel_sigmoid_derivative",
        "numerics/dynamics/kernels.py",
        "np.matmul(np.swapaxes(wmats[layer] * np.float32(0.25), 1, 2), dl, out=bk)",
        "np.matmul(np.swapaxes(wmats[layer] * np.float32(0.5), 1, 2), dl, out=bk)",
        "coefficient",
        "the float32 step kernel's σ′ = (1 − t²)/4 doubled in backprop",
    ),
    Mutant(
        "gradient_rule_sign",
        "numerics/rules.py",
        'return -_per_row(m, g.shape[:-1]) * _unit(g, "grad")',
        'return _per_row(m, g.shape[:-1]) * _unit(g, "grad")',
        "sign",
        "the plain gradient rule ascends",
    ),
    Mutant(
        "beeline_sign",
        "numerics/rules.py",
        'd = _unit(S - W, "w_star - w (w is already at w_star)")',
        'd = _unit(W - S, "w_star - w (w is already at w_star)")',
        "sign",
        "the beeline rule steps away from w*",
    ),
    # ------------------------------------------------------------------ numerics: matrix-free curvature
    Mutant(
        "matfree_hutchinson_stderr",
        "numerics/matfree.py",
        "stderr = float(np.std(samples, ddof=1) / np.sqrt(samples.size))",
        "stderr = float(np.std(samples, ddof=1) / samples.size)",
        "norm",
        "adaptive Hutchinson's standard error divides by the number of probes instead of its square root",
    ),
    Mutant(
        "matfree_newton_residual",
        "numerics/matfree.py",
        "r = float(np.linalg.norm(Hs + g))",
        "r = float(np.linalg.norm(Hs - g))",
        "sign",
        "the MINRES Newton step reports ‖Hs − ∇F‖ as its residual instead of ‖Hs + ∇F‖",
    ),
    Mutant(
        "matfree_newton_sign",
        "numerics/matfree.py",
        "s, Hs, iterations, converged = minres_solve(op, -g, rtol=rtol, maxiter=cap)",
        "s, Hs, iterations, converged = minres_solve(op, g, rtol=rtol, maxiter=cap)",
        "sign",
        "the matrix-free Newton step solves Hs = ∇F: it points up the gradient, s = +(∇²F)⁻¹∇F",
    ),
    Mutant(
        "matfree_deflation_exact_part",
        "numerics/matfree.py",
        'exact_part = float(np.einsum("ki,ik->", HQ, Q)) / n',
        'exact_part = float(np.einsum("ki,ik->", HQ, HQ.T)) / n',
        "coefficient",
        "deflated Hutchinson takes Tr(QᵀH²Q) for the sketched directions' part instead of Tr(QᵀHQ)",
    ),
    Mutant(
        "matfree_deflation_projection",
        "numerics/matfree.py",
        "return Z - (Z @ Q) @ Q.T",
        "return Z - (Z @ Q) @ Q.T / 2",
        "coefficient",
        "deflated Hutchinson's probes keep half of their component along the sketch: counted twice",
    ),
    Mutant(
        "matfree_lanczos_shift",
        "numerics/matfree.py",
        'mu, x2, c2 = _ritz(_Shifted(op, t1), "LM", tol, v0, maxiter)',
        'mu, x2, c2 = _ritz(_Shifted(op, -t1), "LM", tol, v0, maxiter)',
        "sign",
        "Lanczos looks for the far end of the spectrum in H + θ₁I instead of H − θ₁I",
    ),
    Mutant(
        "extreme_eigenvalue_index",
        "numerics/curvature.py",
        'return Extremes(float(lam[0]), float(lam[-1]), "dense")',
        'return Extremes(float(lam[1]), float(lam[-1]), "dense")',
        "window",
        "the dense smallest eigenvalue read one place too far up the spectrum",
    ),
    Mutant(
        "engine_fluctuation_not_gaussian",
        "numerics/dynamics/draws.py",
        "self.xi = g.standard_normal((k, self.n), dtype=np.float32)",
        "self.xi = g.random((k, self.n), dtype=np.float32)",
        "sampling",
        "the engine's fluctuation direction drawn from a uniform cube corner, not isotropically",
    ),
    Mutant(
        "network_loss_not_mean",
        "numerics/networks.py",
        "return (self.r * self.r).sum(axis=(-2, -1)) / (o * p)",
        "return (self.r * self.r).sum(axis=(-2, -1)) / p",
        "coefficient",
        "the network's exact loss summed over outputs instead of averaged",
    ),
    Mutant(
        "settled_threshold_loose",
        "numerics/steady.py",
        "thr = float(stats.t.ppf(1 - alpha / 2, 2 * (n_batches - 1)))",
        "thr = float(stats.t.ppf(1 - alpha / 200, 2 * (n_batches - 1)))",
        "threshold",
        "the settledness test's t threshold at α/200 instead of α/2",
    ),
    Mutant(
        "kernel_loss_half_dropped",
        "numerics/dynamics/kernels.py",
        "loss = 0.5 * np.matmul(out.reshape(c, 1, -1), d.reshape(c, -1, 1))[:, 0, 0].astype(np.float64)",
        "loss = np.matmul(out.reshape(c, 1, -1), d.reshape(c, -1, 1))[:, 0, 0].astype(np.float64)",
        "coefficient",
        "the engine's recorded error doubled (Σ r·d is twice the loss)",
    ),
    Mutant(
        "supplied_hessian_stale",
        "numerics/landscapes/function.py",
        "key = w.tobytes()",
        'key = b""',
        "window",
        "a supplied Hessian kept from the first point asked and reused at every later point",
    ),
    # ------------------------------------------------------------------ checks: verdict machinery
    Mutant(
        "z_threshold_loose",
        "checks/claims/helpers.py",
        "Z_MC = 5.0",
        "Z_MC = 50.0",
        "threshold",
        "Monte Carlo comparisons accept 50 standard errors instead of 5",
    ),
    Mutant(
        "holds_down_to_minus_one",
        "checks/claims/registry.py",
        "return margin is not None and math.isfinite(margin) and margin >= 0",
        "return margin is not None and math.isfinite(margin) and margin >= -1",
        "threshold",
        "the verdict rule accepts margins down to −1 as holding",
    ),
    Mutant(
        "rounding_tolerance_loose",
        "checks/claims/helpers.py",
        "return 100.0 * n * max(cond, 1.0) * EPS",
        "return 1e12 * n * max(cond, 1.0) * EPS",
        "threshold",
        "the rounding allowance 10¹⁰ times too loose",
    ),
)
