"""The matrix-free landscape report: agrees with the dense report within its stated errors
where both run, says "undecided at this precision" where its intervals straddle a boundary,
handles stationary points, never builds an N×N array, and runs end to end as --matrix-free."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from plasticity.checks.cli import main
from plasticity.checks.landscape.analysis import LandscapeReport, analyse
from plasticity.checks.landscape.diagnostics import MAX_DENSE_N
from plasticity.checks.landscape.spec import load
from plasticity.checks.landscape.text import format_text
from plasticity.checks.landscape.verdicts import UNDECIDED
from plasticity.numerics import curvature
from plasticity.numerics.landscapes import Quadratic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LOGISTIC = ROOT / "tests" / "data" / "logistic.py"


def _module(path: Path):  # noqa: ANN202 - a test helper
    spec = importlib.util.spec_from_file_location(f"mf_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOG = _module(LOGISTIC)


def quadratic(lam: np.ndarray, c: np.ndarray, seed: int = 0) -> tuple[Quadratic, np.ndarray]:
    n = lam.size
    U, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Quadratic(eigvals=lam, eigvecs=U, w_star=np.zeros(n)), U @ c


def half(report: LandscapeReport, key: str) -> float:
    """The half-width of a matrix-free figure at the report's confidence (inf if unbounded)."""
    u = report.uncertainty[key]
    if u["bound"] is None:
        return math.inf
    return float(u["bound"]) + report.matrix_free["confidence_z"] * float(u["stderr"])


def assert_agrees(dense: LandscapeReport, mf: LandscapeReport, dense_error: float) -> None:
    """Every matrix-free figure within its own stated error (plus the dense report's own error
    ``dense_error``, stated by the caller) of the dense one."""
    assert dense.method == "dense" and mf.method == "matrix-free"
    pairs = [
        ("trace_over_n", dense.trace_over_n, mf.trace_over_n),
        ("lambda_min", dense.lambda_min, mf.lambda_min),
        ("lambda_max", dense.lambda_max, mf.lambda_max),
        ("q_gradient", dense.q_gradient, mf.q_gradient),
        ("q_newton", dense.q_newton, mf.q_newton),
        ("q_beeline", dense.q_beeline, mf.q_beeline),
    ]
    for key, d, m in pairs:
        assert (d is None) == (m is None), key
        if d is not None:
            assert abs(d - m) <= half(mf, key) + dense_error, (key, d, m, half(mf, key))
    # a verdict the matrix-free report gives is the dense report's verdict
    dense_claims = {c.id: c for c in dense.claims}
    for c in mf.claims:
        if c.holds is not None:
            assert c.holds == dense_claims[c.id].holds, c.id


@pytest.mark.parametrize(
    "lam",
    [np.geomspace(0.01, 1.0, 200), np.concatenate([[-0.6, -0.1], np.linspace(0.05, 2.0, 198)])],
    ids=["definite", "indefinite"],
)
def test_matrix_free_agrees_with_dense_on_quadratics(lam: np.ndarray) -> None:
    landscape, w = quadratic(lam, np.linspace(1.0, 2.0, lam.size), seed=1)
    dense = analyse(landscape, w)
    # 64 probes < N: Tr/N is sampled, not the exact basis sum
    mf = analyse(landscape, w, matrix_free=True, max_probes=64)
    assert mf.matrix_free["trace_probes"] <= 64 and mf.uncertainty["trace_over_n"]["stderr"] > 0
    # the dense report is exact to rounding: N·eps·‖H‖ ≈ 1e-13 (eigvalsh, Rayleigh quotients)
    assert_agrees(dense, mf, dense_error=lam.size * 2.2e-16 * 2.0 * 10)


def test_matrix_free_agrees_with_dense_on_a_module_with_an_exact_gradient_only() -> None:
    teacher = "1,-0.5,0.3,0.8,-0.7,0.2,0.9,-1.1,0.6"
    at = ",".join(str(1.05 * float(t)) for t in teacher.split(","))
    user, w = load(f"{EXAMPLES / 'tiny_network.py'}:loss", at=at, minimum=teacher)
    dense = analyse(user, w)
    mf = analyse(user, w, matrix_free=True)
    assert mf.matrix_free["operator"].startswith("central differences of an exact gradient")
    # the dense report's Hessian is itself central differences of ∇F, error ~eps^(2/3)·‖H‖ ≈ 1e-10
    assert_agrees(dense, mf, dense_error=1e-8)


def test_matrix_free_agrees_with_dense_with_f_only() -> None:
    w = LOG.trained() + 0.3 * np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2.0)
    user, w = load(f"{LOGISTIC}:value", at=",".join(repr(float(x)) for x in w))
    assert user.exact == ()
    dense = analyse(user, w)
    mf = analyse(user, w, matrix_free=True)
    assert mf.matrix_free["operator"].startswith("central differences of a finite-difference gradient")
    H = LOG.loss_hess(w)  # the module's exact Hessian: an independent ground truth here
    lam = np.linalg.eigvalsh(H)
    assert abs(mf.lambda_min - lam[0]) <= half(mf, "lambda_min")
    assert abs(mf.lambda_max - lam[-1]) <= half(mf, "lambda_max")
    assert abs(mf.trace_over_n - np.trace(H) / H.shape[0]) <= half(mf, "trace_over_n")
    # the dense F-only Hessian (second differences of F, h ~ eps^(1/4)) is accurate to ~eps^(1/2)
    assert_agrees(dense, mf, dense_error=1e-6)


def test_an_interval_straddling_the_boundary_is_undecided() -> None:
    # ∇F along two eigenvectors whose eigenvalues average to Tr/N: Q[∇F] = Tr/N exactly, so
    # eq11 sits on its boundary and a sampled Tr/N can never decide it
    n = 300
    lam = np.linspace(0.1, 1.9, n)  # mean 1.0
    g_proj = np.zeros(n)
    g_proj[[0, n - 1]] = 1.0  # (0.1 + 1.9)/2 = 1.0 = Tr/N
    landscape, w = quadratic(lam, g_proj / lam, seed=2)
    mf = analyse(landscape, w, matrix_free=True, max_probes=128)
    verdict = {c.id: c for c in mf.claims}
    c = verdict["main_claim.gradient"]
    assert c.holds is None and c.applies and c.detail.startswith(UNDECIDED)
    assert mf.matrix_free["trace_decided"] is False and mf.matrix_free["trace_probes"] == 128
    lo, hi = mf.matrix_free["ratio_interval"]["gradient"]
    assert lo < 1 < hi
    assert any(UNDECIDED in note for note in mf.notes)
    text = format_text(mf)
    assert next(line for line in text.splitlines() if line.startswith("gradient ")).endswith(UNDECIDED)
    assert "UNDECIDED main_claim.gradient" in text


def test_a_stationary_point_is_stationary_on_the_matrix_free_path(tmp_path: Path) -> None:
    np.save(tmp_path / "w_star.npy", LOG.trained())
    for function in ("loss", "value"):
        user, w = load(f"{LOGISTIC}:{function}", at=str(tmp_path / "w_star.npy"))
        mf = analyse(user, w, matrix_free=True)
        assert mf.stationary and mf.grad_norm <= mf.grad_error_bound
        assert mf.q_gradient is None and mf.q_newton is None
        verdict = {c.id: c for c in mf.claims}
        for rule in ("gradient", "newton", "noisy_gradient"):
            assert verdict[f"main_claim.{rule}"].holds is None
            assert verdict[f"main_claim.{rule}"].detail.startswith("undefined at a stationary point")


class NoDense:
    """A quadratic known only through HVPs: hessian() raises."""

    def __init__(self, lam: np.ndarray) -> None:
        self.lam, self.n, self.w_star = lam, lam.size, None

    def loss(self, w: np.ndarray) -> float:
        return float(0.5 * np.sum(self.lam * w * w))

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.lam * w

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return W * self.lam

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.asarray(v) * self.lam

    def hessian(self, w: np.ndarray) -> np.ndarray:
        raise AssertionError("the dense Hessian was asked for on the matrix-free path")


def test_above_the_dense_threshold_the_report_is_matrix_free_and_never_dense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dense_hessian called on the matrix-free path")

    monkeypatch.setattr(curvature, "dense_hessian", refuse)
    n = MAX_DENSE_N + 1
    lam = np.linspace(0.5, 1.5, n)
    w = np.random.default_rng(3).standard_normal(n)
    rep = analyse(NoDense(lam), w, minimum=np.zeros(n))  # --minimum asks ‖∇²F(w*)‖ too
    assert rep.method == "matrix-free"
    # a diagonal H, where plain Hutchinson would be exact; the deflated probes (P H P is not
    # diagonal) vary, and Tr/N = 1 must lie within the printed interval (bound + z s.e.)
    assert rep.matrix_free["trace_sketch"] > 0
    assert abs(rep.trace_over_n - 1.0) <= half(rep, "trace_over_n")
    assert rep.lambda_min == pytest.approx(0.5, abs=half(rep, "lambda_min") + 1e-12)
    assert rep.lambda_max == pytest.approx(1.5, abs=half(rep, "lambda_max") + 1e-12)


def test_matrix_free_flag_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [str(EXAMPLES / "hessian.npy"), "--at", str(EXAMPLES / "point_equal.npy"), "--matrix-free"]
    assert main(["landscape", *args, "--max-probes", "32", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "matrix-free"
    assert {"trace_over_n", "lambda_min", "lambda_max", "q_gradient"} <= set(data["uncertainty"])
    lam = np.geomspace(0.01, 1.0, 50)  # how examples/make_hessian.py builds it
    assert abs(data["lambda_min"] - 0.01) <= data["uncertainty"]["lambda_min"]["bound"]
    assert abs(data["trace_over_n"] - lam.mean()) <= 5 * data["uncertainty"]["trace_over_n"]["stderr"] + 1e-12
    assert main(["landscape", *args]) == 0
    text = capsys.readouterr().out
    assert "method        matrix-free" in text and "±" in text and "Lanczos residuals" in text
    assert main(["landscape", *args, "--max-probes", "3"]) == 2
    assert "--max-probes" in capsys.readouterr().err


def test_trace_rel_error_flag(capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(EXAMPLES / "hessian.npy"), "--at", str(EXAMPLES / "point_flat.npy"), "--matrix-free"]
    assert main(["landscape", *args, "--max-probes", "32", "--trace-rel-error", "0.05", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    tr = data["uncertainty"]["trace_over_n"]
    half = tr["bound"] + 5 * tr["stderr"]
    # one block of 32 probes is the cap: either ±5 % was reached, or a note says it was not
    assert data["matrix_free"]["trace_precise"] == (half <= 0.05 * abs(data["trace_over_n"]))
    if not data["matrix_free"]["trace_precise"]:
        assert any("relative precision" in note for note in data["notes"])
    assert main(["landscape", *args, "--max-probes", "256", "--trace-rel-error", "0.05", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    tr = data["uncertainty"]["trace_over_n"]
    assert data["matrix_free"]["trace_precise"]
    assert tr["bound"] + 5 * tr["stderr"] <= 0.05 * abs(data["trace_over_n"])
    for bad in ("0", "1.5", "nan"):
        assert main(["landscape", *args, "--trace-rel-error", bad]) == 2
        assert "--trace-rel-error" in capsys.readouterr().err
