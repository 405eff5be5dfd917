"""The JAX adapter (plasticity.landscapes.from_jax) against dense ``jax.hessian`` and central
differences, float64 scoped to its own calls, and the adapter inside the toolkit
(``parametrize_with_checks``, ``plasticity landscape`` on the JAX digits example)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from digits_examples import load_example, write_factory  # noqa: E402
from fd_bounds import EPS, assert_matches_fd  # noqa: E402

from plasticity.checks.cli import main  # noqa: E402
from plasticity.checks.landscape.analysis import analyse  # noqa: E402
from plasticity.checks.testing import claim_checks  # noqa: E402
from plasticity.landscapes import JaxLandscape, Landscape, from_jax  # noqa: E402
from plasticity.numerics import curvature  # noqa: E402
from plasticity.numerics.landscapes import autodiff, jax_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
D, WIDTH, C, B = 6, 8, 3, 60  # N = 6·8 + 8 + 8·3 + 3 = 83


def loss(params, batch):  # noqa: ANN001, ANN201
    """Mean cross-entropy of a 6→8 tanh→3 MLP whose parameters are a nested pytree."""
    (W1, b1), out = params["hidden"], params["out"]
    X, y = batch
    z = jnp.tanh(X @ W1 + b1) @ out["W"] + out["b"]
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0])


@pytest.fixture(scope="module")
def setup():
    """Float32 parameters (as a model trained in JAX's default precision holds them), the
    landscape, and the dense reference Hessian by jax.hessian on our own ravel_pytree."""
    rng = np.random.default_rng(0)
    params = {
        "hidden": (rng.uniform(-0.5, 0.5, (D, WIDTH)).astype(np.float32), np.zeros(WIDTH, np.float32)),
        "out": {"W": rng.uniform(-0.5, 0.5, (WIDTH, C)).astype(np.float32), "b": np.zeros(C, np.float32)},
    }
    X = rng.standard_normal((B, D))
    y = rng.integers(0, C, B)
    L = from_jax(loss, params, (X, y))
    return {"params": params, "batch": (X, y), "L": L}


def reference(setup, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """F, ∇F, ∇²F at the flat w from jax.grad and dense jax.hessian in float64, flattening
    the float64 parameter pytree ourselves."""
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), setup["params"])
        _, unravel = jax.flatten_util.ravel_pytree(params)
        X, y = setup["batch"]
        batch = (jnp.asarray(X, jnp.float64), jnp.asarray(y))

        def f(flat):  # noqa: ANN001, ANN202
            return loss(unravel(flat), batch)

        flat = jnp.asarray(w)
        value_grad_hessian = jax.jit(lambda x: (f(x), jax.grad(f)(x), jax.hessian(f)(x)))
        F, g, H = value_grad_hessian(flat)
        return float(F), np.asarray(g), np.asarray(H)


def rounding_tol(scale: float, terms: int) -> float:
    """Two float64 evaluations of the same sums in different orders differ by rounding: at
    most ``terms``·eps relative to the largest magnitude (a factor 16 for the few operations
    per term)."""
    return 16 * terms * EPS * scale


def test_it_is_a_landscape_with_w0_eps_and_pytree_order(setup) -> None:
    L = setup["L"]
    assert isinstance(L, Landscape) and isinstance(L, JaxLandscape)
    assert L.n == 83 and L.w_star is None and L.eps == EPS
    leaves = jax.tree_util.tree_leaves(setup["params"])
    np.testing.assert_array_equal(L.w0, np.concatenate([np.ravel(a) for a in leaves]).astype(np.float64))
    back = L.unflatten(L.w0)
    np.testing.assert_array_equal(np.asarray(back["out"]["W"]), setup["params"]["out"]["W"])
    assert back["out"]["W"].dtype == jnp.float64


def test_derivatives_match_dense_jax_hessian(setup) -> None:
    L = setup["L"]
    rng = np.random.default_rng(1)
    w = L.w0 + 0.05 * rng.standard_normal(L.n)
    F, g, H = reference(setup, w)
    terms = B + WIDTH
    assert abs(L.loss(w) - F) <= rounding_tol(abs(F), terms)
    np.testing.assert_allclose(L.grad(w), g, rtol=0, atol=rounding_tol(np.abs(g).max(), terms))
    tol_H = rounding_tol(np.abs(H).max(), terms + L.n)
    np.testing.assert_allclose(L.hessian(w), H, rtol=0, atol=tol_H)
    V = rng.standard_normal((40, L.n))  # more rows than one chunk: the chunks join correctly
    np.testing.assert_allclose(L.hvp(w, V[0]), H @ V[0], rtol=0, atol=tol_H * np.abs(V).max())
    np.testing.assert_allclose(L.hvp(w, V), V @ H, rtol=0, atol=tol_H * np.abs(V).max())
    W = w + 0.05 * V
    np.testing.assert_allclose(
        L.hvp_batch(W, V)[35], L.hvp(W[35], V[35]), rtol=0, atol=tol_H * np.abs(V).max()
    )
    np.testing.assert_allclose(L.loss_batch(W)[33], L.loss(W[33]), rtol=0, atol=rounding_tol(F, terms))
    values, grads = L.loss_grad_batch(W)
    np.testing.assert_allclose(values, L.loss_batch(W), rtol=0, atol=rounding_tol(F, terms))
    np.testing.assert_allclose(grads[37], L.grad(W[37]), rtol=0, atol=rounding_tol(np.abs(g).max(), terms))
    np.testing.assert_allclose(grads, L.grad_batch(W), rtol=0, atol=rounding_tol(np.abs(g).max(), terms))
    # the curvature estimators see the same Hessian
    assert curvature.trace_over_n(L, w).value == pytest.approx(np.trace(H) / L.n, abs=tol_H)
    lam = np.linalg.eigvalsh(H)
    top = curvature.extreme_eigenvalues(L, w, exact=False, tol=1e-10).max
    assert abs(top - lam[-1]) <= 1e-10 * abs(lam[-1]) + rounding_tol(abs(lam[-1]), L.n)


def test_derivatives_match_central_differences_within_their_bound(setup) -> None:
    L = setup["L"]
    rng = np.random.default_rng(2)
    for _ in range(3):
        v = rng.standard_normal(L.n)
        v /= np.linalg.norm(v)
        assert_matches_fd(L.grad(L.w0) @ v, L.loss, L.w0, v, scale=B * abs(L.loss(L.w0)))
        assert_matches_fd(L.hvp(L.w0, v), L.grad, L.w0, v, scale=B * np.abs(L.grad(L.w0)).max())


def test_float64_is_scoped_to_the_landscapes_own_calls(setup) -> None:
    if jax.config.read("jax_enable_x64"):
        pytest.skip("JAX_ENABLE_X64 is set globally here: nothing to scope")
    L = setup["L"]
    L.hvp(L.w0, np.ones(L.n))
    assert jnp.ones(1).dtype == jnp.float32  # the program's own setting is untouched
    L32 = from_jax(loss, setup["params"], setup["batch"], dtype="float32")
    assert L32.eps == float(np.finfo(np.float32).eps)
    diff = abs(L32.loss(L.w0) - L.loss(L.w0))
    # float32 really is used (float64 rounding is ~1e-16), and its result is float32-accurate
    assert rounding_tol(L.loss(L.w0), B) < diff <= 16 * (B + WIDTH) * L32.eps * L.loss(L.w0)


def test_bad_input_is_one_line_value_error(setup, monkeypatch: pytest.MonkeyPatch) -> None:
    params, batch, L = setup["params"], setup["batch"], setup["L"]
    X, y = batch
    cases = [
        (lambda: from_jax("loss", params, batch), "callable"),
        (lambda: from_jax(loss, {}, batch), "no arrays"),
        (lambda: from_jax(loss, {"a": np.arange(3)}, batch), "floating point"),
        (lambda: from_jax(lambda p, b: p["out"]["b"], params, batch), "one number"),
        (lambda: from_jax(loss, params, (X[:, :2], y)), "jax could not evaluate"),
        (lambda: from_jax(loss, params, batch, dtype="float16"), "dtype"),
        (lambda: L.grad(np.full(L.n, np.inf)), "NaN or inf"),
        (lambda: L.hvp(L.w0, np.ones((2, 3))), "shape"),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match=words) as info:
            call()
        assert "\n" not in str(info.value)
    monkeypatch.setattr(autodiff, "HESSIAN_MAX_N", 50)
    with pytest.raises(ValueError, match="N=83"):
        L.hessian(L.w0)
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"plasticity\[jax\]"):
        jax_model.import_jax()


def test_parametrize_with_checks_runs_on_a_jax_landscape(setup) -> None:
    L = setup["L"]
    checks = claim_checks(L, [L.w0])
    ids = {c.id for c in checks}
    assert {"main_claim.gradient", "main_claim.zeroth_order", "si_positivity.trained"} <= ids
    assert "usable" not in ids
    _, g, H = reference(setup, L.w0)
    report = analyse(L, L.w0)
    assert abs(report.q_gradient - g @ H @ g / (g @ g)) <= rounding_tol(np.abs(H).max(), B + L.n)
    gradient = next(c for c in checks if c.id == "main_claim.gradient")
    assert gradient.holds == (report.predicted_ratio["gradient"] <= 1)


def test_cli_runs_a_factory_of_the_jax_digits_example_at_its_own_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's network at width 4 (N = 310) through a module.py:factory SPEC, no --at."""
    pytest.importorskip("sklearn")
    factory = write_factory(tmp_path, "jax_digits")
    assert main(["landscape", f"{factory}:landscape", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    L = load_example("jax_digits").make_landscape(width=4, steps=30)
    assert data["n_params"] == L.n == 310
    assert data["loss"] == L.loss(L.w0)  # the point is the trained weights w0
    g, H = L.grad(L.w0), L.hessian(L.w0)
    assert data["trace_over_n"] == pytest.approx(np.trace(H) / L.n, rel=1e-12)
    assert data["q_gradient"] == pytest.approx(g @ H @ g / (g @ g), rel=1e-9)


@pytest.mark.slow
def test_cli_runs_the_jax_digits_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`plasticity landscape examples/jax_digits.py:landscape` exactly as the README shows it."""
    pytest.importorskip("sklearn")
    assert main(["landscape", str(ROOT / "examples" / "jax_digits.py") + ":landscape", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    L = load_example("jax_digits").landscape()
    assert data["n_params"] == L.n == 2410
    assert data["loss"] == L.loss(L.w0)
