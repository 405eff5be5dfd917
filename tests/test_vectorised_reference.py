"""The benchmark's vectorised numpy reference computes the paper's protocol, the engine's protocol.

Two checks: one step from the same weights, inputs and draws gives the engine's update to
float32 rounding; and over whole runs (independent streams on both sides) the steady-state
errors agree within their standard errors.  The benchmark's ratio is meaningful only if both
hold.
"""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.benchmarks import vectorised
from plasticity.numerics import networks
from plasticity.numerics.dynamics import Runs, SweepProtocol, advance, compensation_gammas, init_state

EPS32 = float(np.finfo(np.float32).eps)


def _one_step(network: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(w0, engine's w1, reference's w1, engine's loss, reference's loss) for one step, same draws."""
    p = 300
    proto = SweepProtocol(steps=40, n_inputs=p, batch_size=p, window=10, settle_window=10, measure_every=0)
    n = networks.architecture(network).n_weights
    runs = Runs(
        eps_norm=np.full(6, 0.02 * np.sqrt(n)),
        ratio=np.array([0.1, 0.4, 1.0, 1.6, 2.5, 1.0]),
        noise_to_signal=np.array([0.1, 20.0, 50.0, 0.1, 5.0, 1.0]),
        run_id=np.arange(6),
    )
    state = init_state(network, runs, proto, seed=3)
    # one shared input set, as the reference uses: the engine's per-run inputs overwritten
    x = np.random.default_rng(7).standard_normal((12, p), dtype=np.float32)
    state.inputs[:] = x
    arch = state.arch
    state.targets[:] = networks.activations(arch, networks.unpack(state.teacher, arch), state.inputs)[-1]
    if state.moments is not None:
        iu, ju = np.triu_indices(12)
        state.moments = state.inputs[:, iu, :] * state.inputs[:, ju, :]
    # away from the start (student = teacher · (1 + 0.001 z)), where residuals are differences of
    # nearly equal outputs and their rounding is not the update's: 100 engine steps first
    advance(state, 100, workers=1)
    for d in state.draws:
        d.refill()
    nu = np.stack([d.nu[0] for d in state.draws])
    xi = np.stack([d.xi[0] for d in state.draws])
    counts = np.stack([d.counts[0] for d in state.draws])
    w0 = state.weights.copy()
    seg = advance(state, 1, workers=1)
    # the reference, from the same start and draws
    w = w0.copy()
    views = [v for v in networks.unpack(w, arch)]
    loss, grads = vectorised.forward_backward(views, x, state.targets, counts, p)
    grad = np.concatenate([g.reshape(6, -1) for g in grads], axis=1)
    g1, g2 = vectorised.gammas(runs.ratio * runs.eps_norm, runs.noise_to_signal)
    vectorised.update(w, grad, nu, xi, g1, g2, runs.eps_norm)
    return w0, state.weights, w, seg.loss[:, 0], loss, _cancellation(arch, w0, x, state.targets)


def _cancellation(arch: networks.Architecture, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per network ‖|f| + |y|‖ / ‖f − y‖: how much rounding of the outputs the residual magnifies."""
    out = networks.activations(arch, networks.unpack(w, arch), np.broadcast_to(x, (len(w), *x.shape)))[-1]
    return np.linalg.norm((np.abs(out) + np.abs(y)).reshape(len(w), -1), axis=1) / np.linalg.norm(
        (out - y).reshape(len(w), -1), axis=1
    )


@pytest.mark.parametrize("network", ["nonlinear", "linear"])
def test_one_step_equals_the_engine_to_float32_rounding(network: str) -> None:
    w0, w_engine, w_ref, loss_engine, loss_ref, kappa = _one_step(network)
    p = 300
    # float32 sums over P samples differ by at most P·eps32 relative (summation order), the
    # residual magnifies the outputs' rounding by kappa, and the stored weights round once more
    # at the update (eps32 · |w|)
    step = np.linalg.norm(w_ref - w0, axis=1)
    diff = np.linalg.norm(w_engine - w_ref, axis=1)
    bound = (p + kappa) * EPS32 * step + 4 * EPS32 * np.linalg.norm(w0, axis=1)
    assert np.all(diff <= bound), (diff, bound)
    assert np.all(step > 100 * bound)  # the step is resolved: a wrong update could not hide
    np.testing.assert_allclose(loss_engine, loss_ref, rtol=p * EPS32)


def test_gammas_agree_with_the_project_convention() -> None:
    m = np.array([0.1, 1.0, 3.0])
    r = np.array([0.1, 20.0, 5.0])
    np.testing.assert_allclose(vectorised.gammas(m, r), compensation_gammas(m, r), rtol=1e-15)


def _steady(network: str, ratios: tuple[float, ...], reps: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state errors (reps, ratios) of the engine and the reference, independent streams."""
    from plasticity.numerics.dynamics import simulate

    n = networks.architecture(network).n_weights
    nts, f = 20.0, 0.02
    proto = SweepProtocol(steps=steps, window=100, settle_window=steps // 4, measure_every=0)
    grid = [(r, k) for r in ratios for k in range(reps)]
    runs = Runs(
        eps_norm=np.full(len(grid), f * np.sqrt(n)),
        ratio=np.array([r for r, _ in grid]),
        noise_to_signal=np.full(len(grid), nts),
        run_id=np.arange(len(grid)),
    )
    engine = simulate(network, runs, proto, seed=11, workers=1).steady_loss.reshape(len(ratios), reps).T
    cfg = vectorised.ReferenceConfig(network=network, steps=steps, window=100)
    ref = np.empty((reps, len(ratios)))
    for k in range(reps):  # one seed per repetition: each its own shared input set
        ref[k] = vectorised.run_chunk(
            cfg,
            runs.eps_norm[: len(ratios)],
            np.array(ratios),
            np.full(len(ratios), nts),
            seed=100 + k,
            chunk_key=0,
        )["steady_loss"]
    return engine, ref


@pytest.mark.parametrize("network", ["nonlinear", "linear"])
def test_steady_state_errors_agree_within_standard_errors(network: str) -> None:
    ratios = (0.4, 1.0, 2.5)
    engine, ref = _steady(network, ratios, reps=10, steps=800)
    se = np.sqrt(engine.var(axis=0, ddof=1) / len(engine) + ref.var(axis=0, ddof=1) / len(ref))
    z = (engine.mean(axis=0) - ref.mean(axis=0)) / se
    # |z| < 4: a two-sided 6e-5 level per ratio, so three ratios by chance fail 2e-4 of the time
    assert np.all(np.abs(z) < 4), (engine.mean(axis=0), ref.mean(axis=0), z)
    # the test has power: the errors across the ratios differ by many standard errors
    spread = np.ptp(engine.mean(axis=0))
    assert spread > 6 * se.max(), (spread, se)
