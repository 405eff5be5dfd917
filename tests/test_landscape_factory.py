"""A ``module.py:factory`` SPEC: a function of no arguments returning a Landscape (how a PyTorch
or JAX model reaches `plasticity landscape`), its default point w0, and its one-line errors.
No framework is needed: the factories here return the toolkit's own landscapes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from plasticity.checks.cli import main
from plasticity.checks.landscape.spec import from_factory, is_factory, load

QUADRATIC = """
import numpy as np
from plasticity.numerics.landscapes import Quadratic

def landscape():
    L = Quadratic(np.diag([1.0, 2.0, 4.0]))
    L.w0 = np.array([1.0, 1.0, 1.0])
    return L
"""


def write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "user_model.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_a_factory_is_called_and_its_w0_is_the_default_point(tmp_path: Path) -> None:
    path = write(tmp_path, QUADRATIC)
    user, w = load(f"{path}:landscape")
    assert user.kind == "module" and user.landscape.n == 3 and user.exact == ("grad", "hessian")
    np.testing.assert_array_equal(w, [1.0, 1.0, 1.0])
    user, w = load(f"{path}:landscape", at="0.5,0,2")  # --at overrides w0
    np.testing.assert_array_equal(w, [0.5, 0.0, 2.0])
    with pytest.raises(ValueError, match="w_star cannot be set"):  # Quadratic fixes its own w*
        load(f"{path}:landscape", minimum="0")


def test_the_cli_reports_a_factory_landscape_without_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, QUADRATIC)
    assert main(["landscape", f"{path}:landscape", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    # F = ½ wᵀ diag(1, 2, 4) w at w = (1, 1, 1): F = 3.5, Tr/N = 7/3, ∇F = (1, 2, 4),
    # Q[∇F] = Σ λᵢ³ / Σ λᵢ² = 73/21
    assert data["n_params"] == 3
    assert data["loss"] == pytest.approx(3.5, rel=1e-15)
    assert data["trace_over_n"] == pytest.approx(7 / 3, rel=1e-15)
    assert data["q_gradient"] == pytest.approx(73 / 21, rel=1e-14)


def test_a_function_of_w_is_still_f_and_still_needs_at(tmp_path: Path) -> None:
    path = write(tmp_path, "import numpy as np\ndef F(w): return float(w @ w)\n")
    assert not is_factory(lambda w: 0.0) and is_factory(lambda scale=1.0: None)
    user, w = load(f"{path}:F", at="1,2")
    assert user.landscape.n == 2 and user.exact == ()
    with pytest.raises(ValueError, match="--at POINT is required for a function F"):
        load(f"{path}:F")


def test_a_factory_returning_a_function_landscape_reports_its_finite_differences(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        import numpy as np
        from plasticity.numerics.landscapes import FunctionLandscape
        def landscape():
            return FunctionLandscape(lambda w: float(w @ w), 2)
        """,
    )
    user = from_factory(f"{path}:landscape", w_star="0.5")
    assert user.exact == ()  # no supplied derivative counts as exact
    np.testing.assert_array_equal(user.landscape.w_star, [0.5, 0.5])  # --minimum sets w*
    with pytest.raises(ValueError, match="has no w0"):
        load(f"{path}:landscape")


@pytest.mark.parametrize(
    ("source", "spec_suffix", "named"),
    [
        (
            "def landscape(): return 3\n",
            ":landscape",
            "returned int, not a Landscape (missing: n, w_star, loss",
        ),
        (
            "def landscape(): raise RuntimeError('no GPU here')\n",
            ":landscape",
            "raised RuntimeError: no GPU here",
        ),
        ("landscape = 3\n", ":landscape", "is not callable"),
        ("def other(): pass\n", ":landscape", "no function 'landscape'"),
        ("raise ImportError('torch missing\\nsecond line')\n", ":landscape", "ImportError: torch missing"),
        (
            "class L:\n    n = 0\n    w_star = None\n"
            "    def loss(s, w): ...\n    def grad(s, w): ...\n    def hvp(s, w, v): ...\n"
            "    def hessian(s, w): ...\n    def grad_batch(s, W): ...\n    def loss_batch(s, W): ...\n"
            "def landscape(): return L()\n",
            ":landscape",
            "n is 0, not a positive integer",
        ),
    ],
)
def test_factory_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, spec_suffix: str, named: str
) -> None:
    path = write(tmp_path, source)
    assert main(["landscape", f"{path}{spec_suffix}"]) != 0
    err = capsys.readouterr().err.strip()
    assert named in err and "\n" not in err, err


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["landscape", f"{tmp_path / 'absent.py'}:landscape"]) != 0
    err = capsys.readouterr().err.strip()
    assert "not found" in err and "\n" not in err
