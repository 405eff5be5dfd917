"""The engine's float32 step kernels against the one exact float64 path (networks.BatchPass).

The kernels are a fast-path specialisation of the exact maths, so they must agree with it to
float32 rounding.  The bound used is the first-order componentwise one for sums in floating
point (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1): a quantity computed
through a chain of at most K roundings of unit roundoff u = 2⁻²⁴ differs from its exact value by
at most K·u times the same quantity computed from absolute values ("majorants": |W|, |x|, |y|,
σ ≤ 1, σ' ≤ 1/4, each hidden layer widened by the error its pre-activation carries into it).
K counts the longest accumulation in each result: the length-P sum over samples (o·P for the
loss, a dot product over outputs × samples), the sums over every layer's fan-in, and a few
elementwise roundings (tanh, the residual, the sample weights).  Float32 kernel inputs are exactly
representable in float64, so all of the difference is the kernels' own rounding; a factor 2
covers the second-order terms of γ_K = K·u/(1 − K·u) and of squaring the residual.  The tests
also check that the bound is far below the size of what it bounds, so they can fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.numerics import networks
from plasticity.numerics.dynamics import kernels
from plasticity.numerics.networks import BatchPass

U32 = float(np.finfo(np.float32).eps) / 2  # unit roundoff of float32
ELEMENTWISE = 10  # elementwise roundings along a chain (tanh, products, residual, sample weights)
C, P, S = 3, 300, 300  # networks, fixed inputs, bootstrap draws per step


def _data(arch: networks.Architecture, seed: int) -> tuple[np.ndarray, ...]:
    """Float32 weights, teacher, inputs (C, i, P), unrelated targets (C, o, P), counts (C, P)."""
    rng = np.random.default_rng(seed)
    w = np.stack([networks.pack(networks.init_weights(arch, rng, np.float32)) for _ in range(C)])
    teacher = np.stack([networks.pack(networks.init_weights(arch, rng, np.float32)) for _ in range(C)])
    x = rng.standard_normal((C, arch.sizes[0], P), dtype=np.float32)
    y = rng.standard_normal((C, arch.sizes[-1], P), dtype=np.float32)  # residuals of order 1
    counts = np.stack([np.bincount(rng.integers(0, P, S), minlength=P) for _ in range(C)]).astype(np.float32)
    return w, teacher, x, y, counts


def _within(got: np.ndarray, exact: np.ndarray, bound: np.ndarray) -> None:
    err = np.abs(got.astype(np.float64) - exact)
    assert np.all(err <= bound), f"largest error/bound {np.max(err / bound):.3g}"
    # the bound is tight enough to mean something: far below the quantity it bounds
    assert np.linalg.norm(bound) < 1e-2 * np.linalg.norm(exact)


@pytest.mark.parametrize("bootstrap", [True, False], ids=["bootstrap", "full-batch"])
def test_nonlinear_kernel_is_the_exact_loss_and_gradient_to_float32_rounding(bootstrap: bool) -> None:
    arch = networks.NONLINEAR
    w, _, x, y, counts = _data(arch, seed=0)
    o = arch.sizes[-1]
    denom = o * (S if bootstrap else P)
    full_weight = np.float32(2.0 / denom)
    weight = counts * full_weight if bootstrap else full_weight
    work = kernels.Work(arch, C, P)
    grad = np.empty_like(w)
    loss = kernels.nonlinear_loss_grad(
        x, y, weight, networks.unpack(w, arch), networks.unpack(grad, arch), work.views(C, P)
    )
    f64 = np.float64
    c64 = counts.astype(f64) if bootstrap else None
    exact = BatchPass(arch, w.astype(f64), x.astype(f64), y.astype(f64), c64)

    # majorants: absolute forward and backward passes.  A hidden layer's value σ(a) carries the
    # error of its pre-activation a times σ'(a), and so does σ'(a) itself (|σ''| ≤ σ'), so both
    # are widened by σ'(a)·|W||h| (the magnitude of the sum that made a)
    mats = [np.abs(m) for m in networks.unpack(w.astype(f64), arch)]
    h = [np.abs(x.astype(f64))]
    deriv = []
    for layer, m in enumerate(mats[:-1]):
        spread = exact.deriv[layer] * (m @ h[-1])
        h.append(exact.acts[layer + 1] + spread)
        deriv.append(exact.deriv[layer] + spread)
    r = mats[-1] @ h[-1] + np.abs(y.astype(f64))
    cw = c64 if bootstrap else np.ones((C, P))
    d = r * (2.0 * cw / denom)[:, None, :]
    majorant = [np.empty(0)] * len(mats)
    for layer in range(len(mats) - 1, -1, -1):
        majorant[layer] = d @ np.swapaxes(h[layer], -1, -2)
        if layer > 0:
            d = (np.swapaxes(mats[layer], -1, -2) @ d) * deriv[layer - 1]
    fan_ins = sum(arch.sizes[:-1]) + len(arch.shapes)  # + the [t; 1] row of the kernel's layout
    k_grad = P + fan_ins + ELEMENTWISE
    _within(grad, exact.gradient(), 2 * k_grad * U32 * networks.pack(majorant))
    # loss = Σ c r²/denom, a sum of non-negative terms: the residuals' own error (K_r·u·r̃ each,
    # doubled by squaring) plus the length-o·P sum's error relative to the loss itself
    k_r = fan_ins + ELEMENTWISE
    r_part = 2 * k_r * U32 * (cw * (np.abs(exact.r) * r).sum(axis=1)).sum(axis=1) / denom
    _within(loss, exact.loss, 2 * (r_part + (o * P + ELEMENTWISE) * U32 * exact.loss))


@pytest.mark.parametrize("bootstrap", [True, False], ids=["bootstrap", "full-batch"])
def test_linear_kernel_is_the_exact_loss_and_gradient_to_float32_rounding(bootstrap: bool) -> None:
    arch = networks.LINEAR
    w, teacher, x, _, counts = _data(arch, seed=1)
    o, i = arch.sizes[-1], arch.sizes[0]
    denom = o * (S if bootstrap else P)
    full_weight = np.float32(2.0 / denom)
    iu, ju = np.triu_indices(i)
    moments = x[:, iu, :] * x[:, ju, :]
    # one step's counts as a draw block of length 1, laid out (m, c, P) as the engine passes them
    cov = kernels.linear_moments(moments, counts[None] if bootstrap else None)
    grad = np.empty_like(w)
    loss = kernels.linear_loss_grad(w, teacher, cov, 0, full_weight, grad)
    f64 = np.float64
    c64 = counts.astype(f64) if bootstrap else None
    x64 = x.astype(f64)
    y64 = networks.unpack(teacher.astype(f64), arch)[0] @ x64  # the teacher's outputs, exact
    exact = BatchPass(arch, w.astype(f64), x64, y64, c64)

    # majorants: |W| + |W_T| covers W − W_T and its one rounding; Σ c |x||x|ᵀ the moment sums
    delta = (np.abs(w.astype(f64)) + np.abs(teacher.astype(f64))).reshape(C, o, i)
    cw = c64 if bootstrap else np.ones((C, P))
    ax = np.abs(x64)
    moment_majorant = (ax * cw[:, None, :]) @ np.swapaxes(ax, 1, 2)
    k = P + i + ELEMENTWISE
    _within(grad, exact.gradient(), 2 * k * U32 * (2.0 / denom) * (delta @ moment_majorant).reshape(C, -1))
    loss_majorant = np.einsum("coi,cij,coj->c", delta, moment_majorant, delta) / denom
    _within(loss, exact.loss, 2 * (k + o * i) * U32 * loss_majorant)  # + the length-N sum of δ·g
