"""Fluctuation/compensation dynamics on any :class:`~numerics.landscapes.Landscape`.

Each step moves every simulated network by w ← w + Δc + Δε, where Δε is white noise of
fixed norm ‖Δε‖ and Δc is a named compensatory rule of norm ratio·‖Δε‖, evaluated at the
current w.  All (ratios × repetitions) runs advance together as rows of one array, so one
``grad_batch`` per step serves the whole sweep.  The run records the loss and gradient norm
after every step, the realised compensation of every step (its norm ‖Δc‖ and its projection
∇F·Δĉ on the gradient where it was taken: the noisy rule's norm is exact only up to the
overlap ĝ·ν̂) and, on request, Q[Δc] and Q[Δε] of every step; :class:`LandscapeRun`
summarises the steady state over the final ``window`` steps (means with standard errors
across repetitions), the best ratio predicted from the measured Q's by eq9a, and eq8's
E[ΔF] of every step from the realised quantities (the steady-state balance E[ΔF] = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from plasticity.derivations import closed_forms
from plasticity.numerics import rules as R
from plasticity.numerics.curvature import Q_from_products
from plasticity.numerics.landscapes import Landscape, loss_grad_batch, quad_form_batch

__all__ = ["RULES", "LandscapeRun", "simulate", "simulate_reference", "window_means", "window_stats"]

#: the compensation rules simulate() knows ("noisy_gradient" needs noise_to_signal; "beeline" needs w_star)
RULES = ("gradient", "noisy_gradient", "zeroth_order", "newton", "beeline")


def window_means(x: np.ndarray, window: int) -> np.ndarray:
    """Each run's steady-state mean: records x (..., steps) averaged over the final ``window``
    steps, NaNs (undefined records) ignored; NaN for a run with no finite record there."""
    with np.errstate(all="ignore"):
        tail = x[..., -window:]
        ok = np.isfinite(tail)
        return np.where(ok.any(-1), np.nansum(tail, -1) / np.maximum(ok.sum(-1), 1), np.nan)


def window_stats(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state mean and its standard error for records x (n_ratios, reps, steps).

    Each run's records are averaged over the final ``window`` steps (:func:`window_means`);
    the mean over repetitions is returned with its standard error s.d./√reps (NaN when there
    is a single repetition: no spread to estimate it from).
    """
    per_run = window_means(x, window)
    with np.errstate(all="ignore"):
        reps = per_run.shape[-1]
        mean = np.mean(per_run, axis=-1)
        se = np.std(per_run, axis=-1, ddof=1) / np.sqrt(reps) if reps > 1 else np.full(mean.shape, np.nan)
    return mean, se


@dataclass(frozen=True)
class LandscapeRun:
    """The records of a :func:`simulate` sweep and their steady-state summaries.

    Arrays are indexed (ratio, repetition, step).  ``q_c``/``q_eps`` are None unless
    ``record_q`` was set; ``q_c`` is NaN on steps without compensation (ratio = 0, or a run
    exactly at a stationary point), where Q[Δc] is undefined.
    """

    rule: str
    ratios: np.ndarray  # (R,)
    eps_norm: float
    noise_to_signal: float | None
    steps: int
    reps: int
    window: int
    loss: np.ndarray  # (R, reps, steps) loss after each step
    grad_norm: np.ndarray  # (R, reps, steps) ‖∇F‖ after each step
    q_c: np.ndarray | None  # (R, reps, steps) Q[Δc] at the point where Δc was taken
    q_eps: np.ndarray | None  # (R, reps, steps) Q[Δε] at the same point
    final_w: np.ndarray  # (R, reps, n)
    #: (R, reps, steps) realised ‖Δc‖ of each step (0 where there was no compensation)
    c_norm: np.ndarray | None = None
    #: (R, reps, steps) realised ∇F·Δĉ, gradient at the point where Δc was taken (NaN if Δc = 0)
    grad_dot_chat: np.ndarray | None = None

    def _stats(self, x: np.ndarray | None, what: str) -> tuple[np.ndarray, np.ndarray]:
        if x is None:
            raise ValueError(f"{what} was not recorded: run simulate(..., record_q=True)")
        return window_stats(x, self.window)

    @property
    def steady_loss(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) over repetitions of each run's mean loss in the window, per ratio."""
        return self._stats(self.loss, "loss")

    @property
    def steady_grad_norm(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) of the steady-state gradient norm, per ratio."""
        return self._stats(self.grad_norm, "grad_norm")

    @property
    def steady_q_c(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) of the steady-state Q[Δc], per ratio."""
        return self._stats(self.q_c, "Q[Δc]")

    @property
    def steady_q_eps(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) of the steady-state Q[Δε], per ratio."""
        return self._stats(self.q_eps, "Q[Δε]")

    @property
    def steady_c_norm(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) of the realised steady-state ‖Δc‖, per ratio."""
        return self._stats(self.c_norm, "c_norm")

    @property
    def steady_grad_dot_chat(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard error) of the realised steady-state ∇F·Δĉ, per ratio."""
        return self._stats(self.grad_dot_chat, "grad_dot_chat")

    def expected_dF(self) -> np.ndarray:
        """eq8's E[ΔF] over Δε for every step (R, reps, steps), from that step's realised ‖Δc‖,
        ∇F·Δĉ, Q[Δc] and the realised Q[Δε] (an unbiased draw of its expectation).

        Steps without compensation (Δc = 0) use ∇F·Δĉ = Q[Δc] = 0, where eq8 reduces to the
        fluctuation term.  At steady state its window mean balances to 0 (eq8's E[ΔF] = 0).
        """
        from plasticity.derivations import closed_forms as cf

        if self.q_c is None or self.q_eps is None or self.c_norm is None or self.grad_dot_chat is None:
            raise ValueError("Q[Δc] and Q[Δε] were not recorded: run simulate(..., record_q=True)")
        moved = self.c_norm > 0
        g = np.where(moved, self.grad_dot_chat, 0.0)
        qc = np.where(moved, self.q_c, 0.0)
        out = np.full(self.c_norm.shape, np.nan)
        ok = np.isfinite(g) & np.isfinite(qc) & np.isfinite(self.q_eps)
        if np.any(ok):
            out[ok] = cf.expected_dF(self.c_norm[ok], g[ok], self.eps_norm, qc[ok], self.q_eps[ok])
        return out

    @property
    def best_ratio(self) -> float:
        """The simulated ratio with the lowest steady-state loss."""
        return float(self.ratios[int(np.nanargmin(self.steady_loss[0]))])

    def predicted_ratio(self) -> np.ndarray:
        """√(Q[Δε]/Q[Δc]) (eq9a) from each ratio's measured steady-state Q's; NaN where eq9a
        does not apply (``closed_forms.applies``: a Q undefined or not positive)."""
        return closed_forms.where_applies("steady_state_ratio", self.steady_q_eps[0], self.steady_q_c[0])


def _compensation(
    landscape: Landscape,
    rule: str,
    W: np.ndarray,
    G: np.ndarray,
    c_norm: np.ndarray,
    rng: np.random.Generator,
    noise_to_signal: float | None,
) -> np.ndarray:
    """Δc for every row.  A row sitting exactly at a stationary point (∇F = 0, or w = w* for
    beeline) has no descent direction: its compensation is zero for that step."""
    if rule == "zeroth_order":
        return R.zeroth_order(landscape, W, rng, c_norm)
    if rule == "beeline":
        stuck = np.all(W == landscape.w_star, axis=-1)
    else:
        stuck = ~np.any(G != 0, axis=-1)
    dc = np.zeros_like(W)
    go = ~stuck
    if not np.any(go):
        return dc
    if rule == "gradient":
        dc[go] = R.gradient(G[go], c_norm[go])
    elif rule == "noisy_gradient":
        dc[go] = R.noisy_gradient(G[go], rng, c_norm[go], noise_to_signal)
    elif rule == "newton":
        dc[go] = R.newton(landscape, W[go], c_norm[go], grad=G[go])
    else:
        dc[go] = R.beeline(W[go], landscape.w_star, c_norm[go])
    return dc


def _check_positive_int(x: object, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or x < 1:
        raise ValueError(f"{name} must be a positive integer; got {x!r}")
    return int(x)


@dataclass(frozen=True)
class _Setup:
    """simulate()'s arguments, checked: the start of every row and each row's ‖Δc‖."""

    ratios: np.ndarray
    steps: int
    reps: int
    window: int
    eps_norm: float
    start: np.ndarray  # (R·reps, n), row r·reps + j has ratio r
    c_norm: np.ndarray  # (R·reps,)


def _setup(
    landscape: Landscape,
    w0: np.ndarray,
    rule: str,
    eps_norm: float,
    ratios: np.ndarray | list[float],
    steps: int,
    reps: int,
    rng: np.random.Generator,
    window: int,
    noise_to_signal: float | None,
) -> _Setup:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    steps = _check_positive_int(steps, "steps")
    reps = _check_positive_int(reps, "reps")
    window = _check_positive_int(window, "window")
    if window > steps:
        raise ValueError(f"window ({window}) must not exceed steps ({steps})")
    eps_norm = float(eps_norm)
    if not (np.isfinite(eps_norm) and eps_norm >= 0):
        raise ValueError(f"eps_norm must be a non-negative finite number; got {eps_norm!r}")
    ratios = np.atleast_1d(np.asarray(ratios, dtype=np.float64))
    if ratios.ndim != 1 or ratios.size == 0 or not np.all(np.isfinite(ratios)) or np.any(ratios < 0):
        raise ValueError(f"ratios must be a non-empty list of non-negative finite numbers; got {ratios!r}")
    if rule == "noisy_gradient":
        if noise_to_signal is None:
            raise ValueError("rule 'noisy_gradient' needs noise_to_signal (γ₂/γ₁; 0 = pure gradient)")
        R.gammas(1.0, noise_to_signal)  # validates it
    elif noise_to_signal is not None:
        raise ValueError(f"noise_to_signal applies only to rule 'noisy_gradient', not {rule!r}")
    if rule == "beeline" and landscape.w_star is None:
        raise ValueError("rule 'beeline' needs a landscape with a known minimum (w_star is None)")
    n = landscape.n
    n_ratios = ratios.size
    try:
        start = np.broadcast_to(np.asarray(w0, dtype=np.float64), (n_ratios, reps, n))
    except ValueError:
        raise ValueError(
            f"w0 must have shape ({n},), ({reps}, {n}) or ({n_ratios}, {reps}, {n}); got {np.shape(w0)}"
        ) from None
    if not np.all(np.isfinite(start)):
        raise ValueError("w0 contains NaN or inf")
    return _Setup(
        ratios=ratios,
        steps=steps,
        reps=reps,
        window=window,
        eps_norm=eps_norm,
        start=start.reshape(n_ratios * reps, n).copy(),
        c_norm=np.repeat(ratios * eps_norm, reps),
    )


def _check_record_from(record_from: object, setup: _Setup) -> None:
    if isinstance(record_from, bool) or not isinstance(record_from, int | np.integer) or record_from < 0:
        raise ValueError(f"record_from must be a non-negative integer; got {record_from!r}")
    if record_from > setup.steps - setup.window:
        raise ValueError(
            f"record_from ({record_from}) must not start after the steady-state window "
            f"(the last {setup.window} of {setup.steps} steps)"
        )


class _Records:
    """The per-step records of every row, filled by simulate() and simulate_reference()."""

    def __init__(self, k: int, steps: int, record_q: bool) -> None:
        self.loss = np.full((k, steps), np.nan)
        self.grad_norm = np.empty((k, steps))
        self.c_norm = np.empty((k, steps))
        self.g_dot_chat = np.full((k, steps), np.nan)
        self.q_c = np.full((k, steps), np.nan) if record_q else None
        self.q_eps = np.full((k, steps), np.nan) if record_q else None

    def run(self, setup: _Setup, rule: str, noise_to_signal: float | None, W: np.ndarray) -> LandscapeRun:
        n_ratios, reps, steps = setup.ratios.size, setup.reps, setup.steps

        def shape(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None else x.reshape(n_ratios, reps, steps)

        return LandscapeRun(
            rule=rule,
            ratios=setup.ratios,
            eps_norm=setup.eps_norm,
            noise_to_signal=None if noise_to_signal is None else float(noise_to_signal),
            steps=steps,
            reps=reps,
            window=setup.window,
            loss=shape(self.loss),
            grad_norm=shape(self.grad_norm),
            q_c=shape(self.q_c),
            q_eps=shape(self.q_eps),
            final_w=W.reshape(n_ratios, reps, W.shape[-1]),
            c_norm=shape(self.c_norm),
            grad_dot_chat=shape(self.g_dot_chat),
        )


def simulate(
    landscape: Landscape,
    w0: np.ndarray,
    *,
    rule: str,
    eps_norm: float,
    ratios: np.ndarray | list[float],
    steps: int,
    reps: int,
    rng: np.random.Generator,
    window: int,
    record_q: bool = False,
    noise_to_signal: float | None = None,
    progress: Callable[[int], object] | None = None,
    record_from: int = 0,
) -> LandscapeRun:
    """Run fluctuation + compensation dynamics for every (ratio, repetition) at once.

    ``w0`` is the start: (n,) for all runs, (reps, n) per repetition or (R, reps, n).
    Each step: Δε = white noise of norm ``eps_norm``; Δc = ``rule`` at w with norm
    ratio·eps_norm (``noisy_gradient`` adds noise at γ₂/γ₁ = ``noise_to_signal``, its norm
    then exact only up to the overlap, as in the paper); w ← w + Δc + Δε.  A run sitting exactly
    at a stationary point (e.g. started at w*) gets no compensation on that step: there is
    no descent direction.  Every run is a row of one array: a step costs one batched F and ∇F
    (``loss_grad_batch``), one batched quadratic form for Q[Δc] and Q[Δε] together
    (``quad_form_batch``) and the rule's own batched work (for "newton", one Hessian per row,
    :func:`plasticity.numerics.rules.newton`).  The loss and the Q's are recorded from step
    ``record_from`` on (0-based; earlier records are NaN): a caller that needs only the
    steady-state window skips their cost before it.  ‖∇F‖, ‖Δc‖ and ∇F·Δĉ are recorded on
    every step.  ``progress(1)`` is called after every step.
    Deterministic for a given ``rng`` state, and equal to :func:`simulate_reference` (the
    same steps one row at a time) up to rounding.  Raises ValueError on bad input or if the
    loss stops being finite.
    """
    setup = _setup(landscape, w0, rule, eps_norm, ratios, steps, reps, rng, window, noise_to_signal)
    _check_record_from(record_from, setup)
    eps_norm = setup.eps_norm
    W = setup.start
    K, n = W.shape
    rec = _Records(K, setup.steps, record_q)
    G = landscape.grad_batch(W)
    for t in range(setup.steps):
        dc = _compensation(landscape, rule, W, G, setup.c_norm, rng, noise_to_signal)
        de = R.fluctuation(rng, (K, n), eps_norm)
        dc_norm = np.linalg.norm(dc, axis=-1)
        active = dc_norm > 0  # Q[Δc] and ∇F·Δĉ are undefined (left NaN) where there was no compensation
        rec.c_norm[:, t] = dc_norm
        if np.any(active):
            rec.g_dot_chat[active, t] = np.einsum("ki,ki->k", G[active], dc[active]) / dc_norm[active]
        recording = t >= record_from
        if record_q and recording:
            # Q[Δc] of the compensating rows and Q[Δε] of every row in one batched call
            n_c = int(np.count_nonzero(active))
            if eps_norm > 0:
                vhv = quad_form_batch(landscape, np.vstack([W[active], W]), np.vstack([dc[active], de]))
                rec.q_eps[:, t] = Q_from_products(vhv[n_c:], np.linalg.norm(de, axis=-1))
            else:  # no fluctuation: Q[Δε] undefined
                vhv = quad_form_batch(landscape, W[active], dc[active]) if n_c else np.empty(0)
                rec.q_eps[:, t] = np.nan
            if n_c:
                rec.q_c[active, t] = Q_from_products(vhv[:n_c], dc_norm[active])
        W = W + dc + de
        if not np.all(np.isfinite(W)):
            raise ValueError(f"simulation diverged at step {t + 1}: weights not finite")
        if recording:
            lt, G = loss_grad_batch(landscape, W)
            if not np.all(np.isfinite(lt)):
                raise ValueError(f"simulation diverged at step {t + 1}: loss not finite")
            rec.loss[:, t] = lt
        else:
            G = landscape.grad_batch(W)
        if not np.all(np.isfinite(G)):
            raise ValueError(f"simulation diverged at step {t + 1}: gradient not finite")
        rec.grad_norm[:, t] = np.linalg.norm(G, axis=-1)
        if progress is not None:
            progress(1)
    return rec.run(setup, rule, noise_to_signal, W)


def simulate_reference(
    landscape: Landscape,
    w0: np.ndarray,
    *,
    rule: str,
    eps_norm: float,
    ratios: np.ndarray | list[float],
    steps: int,
    reps: int,
    rng: np.random.Generator,
    window: int,
    record_q: bool = False,
    noise_to_signal: float | None = None,
    record_from: int = 0,
) -> LandscapeRun:
    """The same dynamics as :func:`simulate`, one row at a time: the reference it is tested
    and benchmarked against.

    Every quantity comes from the landscape's per-point methods (``loss``, ``grad``, ``hvp``)
    and the rules applied to one row; random draws are made row after row in the order in
    which :func:`simulate` draws its batches (a Generator's stream does not depend on how it
    is split into calls), so with the same ``rng`` state both take the same steps.
    """
    setup = _setup(landscape, w0, rule, eps_norm, ratios, steps, reps, rng, window, noise_to_signal)
    _check_record_from(record_from, setup)
    eps_norm = setup.eps_norm
    W = setup.start
    K, n = W.shape
    rec = _Records(K, setup.steps, record_q)
    G = np.stack([landscape.grad(w) for w in W])
    for t in range(setup.steps):
        dc = np.zeros_like(W)
        go = np.any(G != 0, axis=-1)
        # the batched noisy rule draws ν for every row with a direction once any of them has
        # γ₂ > 0 (and multiplies it by γ₂ = 0 where the ratio is 0): the same draws here
        noisy_draws = rule == "noisy_gradient" and bool(
            np.any(go & (R.gammas(setup.c_norm, noise_to_signal or 0.0)[1] > 0))
        )
        for i in range(K):
            c = setup.c_norm[i]
            if rule == "zeroth_order":
                dc[i] = R.zeroth_order(landscape, W[i], rng, c)
            elif rule == "beeline":
                if not np.all(W[i] == landscape.w_star):
                    dc[i] = R.beeline(W[i], landscape.w_star, c)
            elif go[i]:
                if rule == "gradient":
                    dc[i] = R.gradient(G[i], c)
                elif rule == "noisy_gradient":
                    dc[i] = R.noisy_gradient(G[i], rng, c, noise_to_signal)
                    if noisy_draws and R.gammas(c, noise_to_signal)[1] == 0:
                        rng.standard_normal(n)
                else:
                    dc[i] = R.newton(landscape, W[i], c)
        de = np.stack([R.fluctuation(rng, (n,), eps_norm) for _ in range(K)])
        for i in range(K):
            c = float(np.linalg.norm(dc[i]))
            rec.c_norm[i, t] = c
            if c > 0:
                rec.g_dot_chat[i, t] = G[i] @ dc[i] / c
            if record_q and t >= record_from:
                if c > 0:
                    rec.q_c[i, t] = Q_from_products(dc[i] @ landscape.hvp(W[i], dc[i]), c)
                e = float(np.linalg.norm(de[i]))
                rec.q_eps[i, t] = (
                    Q_from_products(de[i] @ landscape.hvp(W[i], de[i]), e) if eps_norm > 0 else np.nan
                )
        W = W + dc + de
        if not np.all(np.isfinite(W)):
            raise ValueError(f"simulation diverged at step {t + 1}: weights not finite")
        G = np.stack([landscape.grad(w) for w in W])
        if t >= record_from:
            rec.loss[:, t] = [landscape.loss(w) for w in W]
            if not np.all(np.isfinite(rec.loss[:, t])):
                raise ValueError(f"simulation diverged at step {t + 1}: loss not finite")
        if not np.all(np.isfinite(G)):
            raise ValueError(f"simulation diverged at step {t + 1}: gradient not finite")
        rec.grad_norm[:, t] = np.linalg.norm(G, axis=-1)
    return rec.run(setup, rule, noise_to_signal, W)
