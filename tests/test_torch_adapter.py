"""The PyTorch adapter (plasticity.landscapes.from_torch) against independent ground truths,
and the toolkit's curvature estimators against the tools people already use on torch models.

* Derivatives: against ``torch.func.hessian`` of a hand-written forward pass of the same
  MLP (an independent implementation of F, which also pins the documented parameter order),
  and against central differences within their error bound (tests/fd_bounds.py).
* PyHessian (``pyhessian.hessian``): its Hutchinson trace and power-iteration top eigenvalue.
* curvlinops (``HessianLinearOperator``): its Hessian-vector products, its Hutchinson trace
  (``hutchinson_trace``) and ARPACK's top eigenvalue of its operator.
* The adapter inside the toolkit: ``parametrize_with_checks`` and ``plasticity landscape`` on
  ``examples/torch_digits.py:landscape``.

Every comparison is in float64.  Hutchinson tolerances are z = 4 standard errors, the standard
error taken from the exact probe variance 2(‖H‖_F² − Σᵢ Hᵢᵢ²) of Rademacher probes on the
dense reference Hessian (a fixed seed either passes or fails for good; z = 4 makes a failure
mean the estimators disagree, not an unlucky draw: two-sided p ≈ 6·10⁻⁵).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from digits_examples import load_example, write_factory  # noqa: E402
from fd_bounds import EPS, assert_matches_fd  # noqa: E402

from plasticity.checks.cli import main  # noqa: E402
from plasticity.checks.landscape.analysis import analyse  # noqa: E402
from plasticity.checks.testing import claim_checks  # noqa: E402
from plasticity.landscapes import Landscape, TorchLandscape, from_torch  # noqa: E402
from plasticity.numerics import curvature  # noqa: E402
from plasticity.numerics.landscapes import autodiff, torch_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
D, WIDTH, C, B = 10, 16, 3, 200  # N = 16·10 + 16 + 3·16 + 3 = 227
Z = 4.0  # standard errors allowed between Monte Carlo estimates (module docstring)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: a multi-threaded torch on a busy 2-core machine spends most of
    its time spin-waiting (measured 10× slower); results do not depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def reference_loss(flat, X, y):  # noqa: ANN001, ANN201
    """Mean cross-entropy of the 10→16 tanh→3 MLP written by hand from the flat vector, in the
    documented order: 0.weight (16, 10) row-major, 0.bias, 2.weight (3, 16), 2.bias."""
    sizes = [WIDTH * D, WIDTH, C * WIDTH, C]
    W1, b1, W2, b2 = torch.split(flat, sizes)
    z = torch.tanh(X @ W1.reshape(WIDTH, D).T + b1) @ W2.reshape(C, WIDTH).T + b2
    return (torch.logsumexp(z, dim=1) - z[torch.arange(z.shape[0]), y]).mean()


@pytest.fixture(scope="module")
def trained():
    """A briefly trained MLP on separable-ish synthetic data, its landscape and the dense
    reference Hessian at its weights (torch.func.hessian of reference_loss)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, D))
    y = np.argmax(X @ rng.standard_normal((D, C)) + 0.5 * rng.standard_normal((B, C)), axis=1)
    model = torch.nn.Sequential(
        torch.nn.Linear(D, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, C)
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    criterion = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(100):
        opt.zero_grad()
        criterion(model(Xt), yt).backward()
        opt.step()
    L = from_torch(model, criterion, (Xt, yt))
    w = torch.from_numpy(L.w0)
    H = torch.func.hessian(reference_loss)(w, Xt, yt).numpy()
    return {"model": model, "criterion": criterion, "X": Xt, "y": yt, "L": L, "H": H}


def rounding_tol(scale: float, terms: int) -> float:
    """Two float64 evaluations of the same sums in different orders differ by rounding: at
    most ``terms``·eps relative to the largest magnitude involved (a sum of ``terms`` terms);
    a factor 16 covers the few operations per term."""
    return 16 * terms * EPS * scale


# --------------------------------------------------------------------------- the adapter itself


def test_it_is_a_landscape_with_documented_order_w0_and_eps(trained) -> None:
    L, model = trained["L"], trained["model"]
    assert isinstance(L, Landscape) and isinstance(L, TorchLandscape)
    assert L.n == 227 and L.w_star is None and L.eps == EPS
    assert L.parameter_names == tuple(name for name, _ in model.named_parameters())
    np.testing.assert_array_equal(
        L.w0, torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()
    )
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(L.unflatten(L.w0)[name], p.detach().numpy())


def test_loss_gradient_hvp_and_hessian_match_torch_func_hessian(trained) -> None:
    L, H, X, y = trained["L"], trained["H"], trained["X"], trained["y"]
    rng = np.random.default_rng(1)
    w = L.w0 + 0.05 * rng.standard_normal(L.n)
    wt = torch.from_numpy(w)
    H = torch.func.hessian(reference_loss)(wt, X, y).numpy()
    g = torch.func.grad(reference_loss)(wt, X, y).numpy()
    F = float(reference_loss(wt, X, y))
    terms = B + WIDTH  # the longest sums: over the batch and over the hidden units
    assert abs(L.loss(w) - F) <= rounding_tol(abs(F), terms)
    np.testing.assert_allclose(L.grad(w), g, rtol=0, atol=rounding_tol(np.abs(g).max(), terms))
    tol_H = rounding_tol(np.abs(H).max(), terms + L.n)  # plus the sum of an HVP over N entries
    np.testing.assert_allclose(L.hessian(w), H, rtol=0, atol=tol_H)
    V = rng.standard_normal((5, L.n))
    np.testing.assert_allclose(L.hvp(w, V[0]), H @ V[0], rtol=0, atol=tol_H * np.abs(V).max())
    np.testing.assert_allclose(L.hvp(w, V), V @ H, rtol=0, atol=tol_H * np.abs(V).max())
    # the batched paths are the same function at each row
    W = w + 0.05 * V
    np.testing.assert_allclose(L.hvp_batch(W, V)[3], L.hvp(W[3], V[3]), rtol=0, atol=tol_H * np.abs(V).max())
    np.testing.assert_allclose(L.loss_batch(W), [L.loss(x) for x in W], rtol=0, atol=rounding_tol(F, terms))
    loss, grad = L.loss_grad_batch(W)
    np.testing.assert_allclose(loss, L.loss_batch(W), rtol=0, atol=rounding_tol(F, terms))
    np.testing.assert_allclose(grad, L.grad_batch(W), rtol=0, atol=rounding_tol(np.abs(g).max(), terms))
    np.testing.assert_allclose(grad[2], L.grad(W[2]), rtol=0, atol=rounding_tol(np.abs(g).max(), terms))


def test_derivatives_match_central_differences_within_their_bound(trained) -> None:
    L = trained["L"]
    rng = np.random.default_rng(2)
    w = L.w0
    for _ in range(3):
        v = rng.standard_normal(L.n)
        v /= np.linalg.norm(v)
        assert_matches_fd(L.grad(w) @ v, L.loss, w, v, scale=B * abs(L.loss(w)))
        assert_matches_fd(L.hvp(w, v), L.grad, w, v, scale=B * np.abs(L.grad(w)).max())


def test_float32_arithmetic_is_used_and_its_eps_reported(trained) -> None:
    L32 = from_torch(
        trained["model"], trained["criterion"], (trained["X"], trained["y"]), dtype=torch.float32
    )
    L64 = trained["L"]
    assert L32.eps == float(np.finfo(np.float32).eps)
    w = L64.w0
    diff = abs(L32.loss(w) - L64.loss(w))
    # float32 really is used (float64 rounding is ~1e-16), and its result is float32-accurate
    assert rounding_tol(L64.loss(w), B) < diff <= 16 * (B + WIDTH) * L32.eps * L64.loss(w)


@pytest.mark.parametrize("matrix_free", [False, True])
def test_a_float32_model_is_reported_with_float32_bounds(trained, matrix_free: bool) -> None:
    """The report's consistency checks state their rounding with the landscape's own eps: a
    correct float32 model passes them (with float64's eps its exact gradient would be
    rejected as inconsistent with F), and its curvatures agree with the float64 model's
    within float32 rounding."""
    # at initialisation (F ≈ 1.3): F's rounding eps32·|F| is what float64's eps would miss
    model = torch.nn.Sequential(torch.nn.Linear(D, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, C))
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    data = (trained["X"], trained["y"])
    L32 = from_torch(model, trained["criterion"], data, dtype=torch.float32)
    L64 = from_torch(model, trained["criterion"], data)
    r32 = analyse(L32, L32.w0, matrix_free=matrix_free, max_probes=2048)
    r64 = analyse(L64, L64.w0, matrix_free=matrix_free, max_probes=2048)
    # Q[∇F] from float32 HVPs: relative rounding ~ (B + N)·eps32 for the sums involved
    q32, q64 = r32.q_gradient, r64.q_gradient
    assert abs(q32 - q64) <= 16 * (B + L64.n) * L32.eps * abs(q64)


def test_eval_mode_buffers_fixed_and_the_users_model_untouched() -> None:
    rng = np.random.default_rng(3)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.Dropout(0.5), torch.nn.Linear(6, 2)
    ).double()
    model[1].running_mean.copy_(torch.from_numpy(rng.standard_normal(6)))
    model[1].running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 6)))
    model[3].bias.requires_grad_(False)  # a frozen parameter is held fixed, like a buffer
    X = torch.from_numpy(rng.standard_normal((30, 4)))
    y = torch.from_numpy(rng.integers(0, 2, 30))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    L = from_torch(model, torch.nn.CrossEntropyLoss(), (X, y))
    assert L.n == 4 * 6 + 6 + 6 + 6 + 2 * 6  # BatchNorm's affine weight and bias count, 3.bias does not
    assert "3.bias" not in L.parameter_names
    w = L.w0 + 0.1 * rng.standard_normal(L.n)
    F = L.loss(w)
    assert L.loss(w) == F  # dropout off: F is a function of w
    L.hvp(w, rng.standard_normal((3, L.n)))
    assert model.training  # the user's model is still in training mode ...
    for k, v in model.state_dict().items():  # ... with its parameters and running statistics
        assert torch.equal(v, before[k]), k
    model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(torch.from_numpy(L.unflatten(w)[name]))
        expected = float(torch.nn.CrossEntropyLoss()(model(X), y))
    assert abs(F - expected) <= rounding_tol(abs(expected), 30 + 6)


def test_bad_input_is_one_line_value_error(trained, monkeypatch: pytest.MonkeyPatch) -> None:
    model, crit, X, y = trained["model"], trained["criterion"], trained["X"], trained["y"]
    cases = [
        (lambda: from_torch(lambda x: x, crit, (X, y)), "torch.nn.Module"),
        (lambda: from_torch(model, crit, X), "pair"),
        (lambda: from_torch(model, lambda out, t: out, (X, y)), "one number"),
        (lambda: from_torch(model, crit, (X, y), dtype=torch.float16), "dtype"),
        (lambda: from_torch(model, crit, (X[:, :3], y)), "torch could not evaluate"),
        (lambda: trained["L"].loss(np.full(227, np.nan)), "NaN"),
        (lambda: trained["L"].hvp(trained["L"].w0, np.ones(5)), "shape"),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match=words) as info:
            call()
        assert "\n" not in str(info.value)
    monkeypatch.setattr(autodiff, "HESSIAN_MAX_N", 100)
    with pytest.raises(ValueError, match="N=227"):
        trained["L"].hessian(trained["L"].w0)
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    with pytest.raises(ImportError, match=r"plasticity\[torch\]"):
        torch_model.import_torch()


# --------------------------------------------------------------------------- PyHessian and curvlinops


def _probe_se(H: np.ndarray, probes: int) -> float:
    """Standard error of a Rademacher Hutchinson estimate of Tr(H)/N from ``probes`` probes:
    Var(zᵀHz) = 2(‖H‖_F² − Σᵢ Hᵢᵢ²) exactly."""
    var = 2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2))
    return float(np.sqrt(var / probes) / H.shape[0])


@pytest.fixture()
def float64_default():
    """PyHessian draws its probes with torch's default dtype: float64 to match the model."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_trace_and_top_eigenvalue_agree_with_pyhessian(trained, float64_default) -> None:
    pyhessian = pytest.importorskip("pyhessian")
    L, H = trained["L"], trained["H"]
    n, w = L.n, L.w0
    lam = np.linalg.eigvalsh(H)
    exact = float(np.trace(H)) / n
    assert exact > 0  # PyHessian's relative stopping rule divides by its running trace
    comp = pyhessian.hessian(
        trained["model"], trained["criterion"], data=(trained["X"], trained["y"]), cuda=False
    )

    # Hutchinson: tol=0 disables PyHessian's early stop, so it returns exactly m probes
    m_ours, m_theirs = 400, 400
    ours = curvature.trace_over_n(L, w, exact=False, n_probes=m_ours, rng=np.random.default_rng(5))
    torch.manual_seed(0)
    samples = np.asarray(comp.trace(maxIter=m_theirs, tol=0.0)) / n
    assert samples.size == m_theirs
    theirs = float(samples.mean())
    assert abs(ours.value - exact) <= Z * _probe_se(H, m_ours)
    assert abs(theirs - exact) <= Z * _probe_se(H, m_theirs)
    assert abs(ours.value - theirs) <= Z * np.hypot(_probe_se(H, m_ours), _probe_se(H, m_theirs))

    # Top eigenvalue.  PyHessian's power iteration reports ρ = uᵀHu for its last iterate u,
    # which it normalised as v/(‖v‖ + 1e-6): u = c·û with ‖û‖ = 1 and 1 − c² ≤ 2e-6/‖v‖.
    # For the unit iterate û, ρ(û) ≤ λ₁ ≤ ρ(û) + ‖Hû − ρ(û)û‖²/(ρ(û) − λ₂) (Kato–Temple), so
    # 0 ≤ λ₁ − ρ ≤ that residual term + (2e-6/‖v‖)·ρ(û).  The iterate is the vector a run
    # one iteration shorter returns (same seed; tol=0 runs exactly maxIter iterations).
    iterations = 100
    torch.manual_seed(1)
    (rho,), _ = comp.eigenvalues(maxIter=iterations, tol=0.0)
    torch.manual_seed(1)
    _, (v_list,) = comp.eigenvalues(maxIter=iterations - 1, tol=0.0)
    v = torch.cat([t.detach().reshape(-1) for t in v_list]).numpy()
    u = v / np.linalg.norm(v)
    rho_u = float(u @ H @ u)
    assert lam[-2] < rho_u and lam[-1] > -lam[0]  # λ₁ is the eigenvalue power iteration finds
    kato_temple = float(np.linalg.norm(H @ u - rho_u * u) ** 2 / (rho_u - lam[-2]))
    above = kato_temple + 2e-6 / np.linalg.norm(v) * rho_u  # how far λ₁ may lie above ρ
    tol = 1e-10
    top = curvature.extreme_eigenvalues(L, w, exact=False, tol=tol, rng=np.random.default_rng(6)).max
    # ARPACK at tol stops with a residual ≤ tol·|θ|, so θ is within that of λ₁ (plus rounding)
    ours_err = tol * abs(top) + rounding_tol(abs(lam[-1]), n)
    assert -ours_err <= top - rho <= above + ours_err, (top, rho, above)
    assert abs(top - lam[-1]) <= ours_err


def test_hvps_trace_and_top_eigenvalue_agree_with_curvlinops(trained) -> None:
    curvlinops = pytest.importorskip("curvlinops")
    import scipy.sparse.linalg as spla

    L, H, model = trained["L"], trained["H"], trained["model"]
    n, w = L.n, L.w0
    op = curvlinops.HessianLinearOperator(
        model, trained["criterion"], list(model.parameters()), [(trained["X"], trained["y"])]
    )
    V = np.random.default_rng(7).standard_normal((6, n))
    theirs = (op @ torch.from_numpy(V.T.copy())).numpy().T
    np.testing.assert_allclose(L.hvp(w, V), theirs, rtol=0, atol=rounding_tol(np.abs(H).max() * 4, B + n))

    m_ours, m_theirs = 300, 200  # curvlinops asks for fewer probes than N = 227
    ours = curvature.trace_over_n(L, w, exact=False, n_probes=m_ours, rng=np.random.default_rng(8))
    torch.manual_seed(2)
    their_trace = float(curvlinops.hutchinson_trace(op, m_theirs)) / n
    exact = float(np.trace(H)) / n
    assert abs(their_trace - exact) <= Z * _probe_se(H, m_theirs)
    assert abs(ours.value - their_trace) <= Z * np.hypot(_probe_se(H, m_ours), _probe_se(H, m_theirs))

    tol = 1e-10
    v0 = np.random.default_rng(9).standard_normal(n)
    (their_top,) = spla.eigsh(op.to_scipy(), k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    top = curvature.extreme_eigenvalues(L, w, exact=False, tol=tol, rng=np.random.default_rng(10)).max
    # each ARPACK Ritz value is within tol·|θ| of λ₁ (residual bound), plus float64 rounding
    assert abs(top - their_top) <= 2 * tol * abs(top) + 2 * rounding_tol(abs(top), n)


# --------------------------------------------------------------------------- inside the toolkit


def test_parametrize_with_checks_runs_on_a_torch_landscape(trained) -> None:
    L, H = trained["L"], trained["H"]
    checks = claim_checks(L, [L.w0])
    ids = {c.id for c in checks}
    assert {"main_claim.gradient", "main_claim.zeroth_order", "si_positivity.trained"} <= ids
    assert "usable" not in ids  # the landscape passed every consistency check at its w0
    report = analyse(L, L.w0)
    g = L.grad(L.w0)
    q = float(g @ H @ g / (g @ g))  # Q[∇F] from the independent dense Hessian
    assert abs(report.q_gradient - q) <= rounding_tol(np.abs(H).max(), B + L.n)
    gradient = next(c for c in checks if c.id == "main_claim.gradient")
    assert gradient.holds == (report.predicted_ratio["gradient"] <= 1)


def test_cli_runs_a_factory_of_the_torch_digits_example_at_its_own_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's network at width 4 (N = 310) through a module.py:factory SPEC, no --at."""
    pytest.importorskip("sklearn")
    factory = write_factory(tmp_path, "torch_digits")
    assert main(["landscape", f"{factory}:landscape", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    L = load_example("torch_digits").make_landscape(width=4, steps=30)
    assert data["n_params"] == L.n == 310
    assert data["loss"] == L.loss(L.w0)  # the point is the trained weights w0
    g = L.grad(L.w0)
    H = L.hessian(L.w0)
    assert data["trace_over_n"] == pytest.approx(np.trace(H) / L.n, rel=1e-12)
    assert data["q_gradient"] == pytest.approx(g @ H @ g / (g @ g), rel=1e-9)
    assert {c["id"] for c in data["claims"]} >= {"main_claim.gradient", "si_positivity.trained"}


@pytest.mark.slow
def test_cli_runs_the_torch_digits_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`plasticity landscape examples/torch_digits.py:landscape` exactly as the README shows it."""
    pytest.importorskip("sklearn")
    assert main(["landscape", str(ROOT / "examples" / "torch_digits.py") + ":landscape", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    L = load_example("torch_digits").landscape()
    assert data["n_params"] == L.n == 2410
    assert data["loss"] == L.loss(L.w0)


def test_default_vmap_chunk_follows_rows_times_n(trained) -> None:
    from plasticity.numerics.landscapes.autodiff import CHUNK_ELEMENTS, MAX_CHUNK, default_chunk

    # the N = 99,985 digits MLP on 1797 rows: 32 directions at once held ~3 GB of activations
    assert default_chunk(1797, 99_985) == CHUNK_ELEMENTS // (1797 * 99_985) == 5
    assert default_chunk(1797, 2410) == MAX_CHUNK  # small models keep vmap's batching
    assert default_chunk(10**6, 10**6) == 1
    L = trained["L"]
    assert L.chunk == default_chunk(int(trained["X"].shape[0]), L.n)
    assert (
        from_torch(trained["model"], trained["criterion"], (trained["X"], trained["y"]), chunk=3).chunk == 3
    )
