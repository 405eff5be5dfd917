"""SPEC loading, POINT parsing (checks.landscape.spec) and the usability checks at a point
(checks.landscape.diagnostics)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from plasticity.checks.landscape.diagnostics import check_at_point
from plasticity.checks.landscape.spec import (
    from_expression,
    from_hessian_file,
    from_module,
    load,
    parse_minimum,
    parse_point,
    spec_kind,
)
from plasticity.numerics.landscapes import ExpressionLandscape


def write_module(tmp_path: Path, source: str, name: str = "user_mod.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# --------------------------------------------------------------------------- points


def test_parse_point_from_text_and_npy(tmp_path: Path) -> None:
    np.testing.assert_array_equal(parse_point("1, 2.5,-3e-1"), [1.0, 2.5, -0.3])
    np.save(tmp_path / "w.npy", np.array([4.0, 5.0]))
    np.testing.assert_array_equal(parse_point(str(tmp_path / "w.npy"), 2), [4.0, 5.0])


@pytest.mark.parametrize(
    ("text", "n", "named"),
    [
        ("1,2", 3, "N=3"),
        ("1,,2", None, "empty entry"),
        ("1,abc", None, "'abc' is not a number"),
        ("1,nan", None, "NaN or inf"),
        ("1,inf", None, "NaN or inf"),
    ],
)
def test_parse_point_errors(text: str, n: int | None, named: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_point(text, n)
    assert named in str(exc.value)


def test_parse_point_missing_and_bad_npy(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        parse_point(str(tmp_path / "nope.npy"))
    np.save(tmp_path / "m.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match="vector"):
        parse_point(str(tmp_path / "m.npy"))
    (tmp_path / "junk.npy").write_text("not an array")
    with pytest.raises(ValueError, match="cannot read"):
        parse_point(str(tmp_path / "junk.npy"))


def test_parse_minimum_single_number_fills_every_coordinate() -> None:
    np.testing.assert_array_equal(parse_minimum("2.5", 4), [2.5] * 4)
    np.testing.assert_array_equal(parse_minimum(0, 3), [0.0] * 3)
    np.testing.assert_array_equal(parse_minimum("1,2,3", 3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="N=3"):
        parse_minimum("1,2", 3)


# --------------------------------------------------------------------------- SPEC kinds


@pytest.mark.parametrize(
    ("spec", "expr", "named"),
    [
        ("a.npy", "x", "not both"),
        (None, None, "no landscape"),
        ("", None, "no landscape"),
        ("something", None, "cannot tell"),
    ],
)
def test_spec_kind_errors(spec: str | None, expr: str | None, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        spec_kind(spec, expr)


def test_load_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--vars"):
        load(expr="x**2", at="1")
    with pytest.raises(ValueError, match="--at"):
        load(expr="x**2", variables="x")
    with pytest.raises(ValueError, match="only goes with --expr"):
        load(str(tmp_path / "h.npy"), variables="x", at="1")


def test_module_spec_finds_derivatives_by_naming_convention(tmp_path: Path) -> None:
    path = write_module(
        tmp_path,
        """
        import numpy as np
        def F(w): return float(np.sum(w**4))
        def F_grad(w): return 4 * w**3
        def hessian(w): return np.diag(12 * w**2)
        """,
    )
    user = from_module(f"{path}:F", 3)
    assert user.kind == "module" and user.exact == ("grad", "hessian")
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(user.landscape.grad(w), 4 * w**3)
    np.testing.assert_array_equal(user.landscape.hessian(w), np.diag(12 * w**2))
    check_at_point(user, w)  # consistent derivatives: no error


def test_module_spec_without_derivatives_uses_finite_differences(tmp_path: Path) -> None:
    path = write_module(tmp_path, "import numpy as np\ndef F(w): return float(np.sum(np.cosh(w)))\n")
    user = from_module(f"{path}:F", 2)
    assert user.exact == ()
    w = np.array([0.3, -0.7])
    # central differences with h = eps^(1/3): error ~ h²|F'''|/6 + eps|F|/h ≈ 1e-10; 1e-7 is generous
    np.testing.assert_allclose(user.landscape.grad(w), np.sinh(w), atol=1e-7)
    check_at_point(user, w)


def test_module_spec_runs_the_module(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_module(
        tmp_path, f"from pathlib import Path\nPath({str(marker)!r}).write_text('yes')\ndef F(w): return 0.0\n"
    )
    from_module(f"{path}:F", 1)
    assert marker.read_text() == "yes"  # documented: a module SPEC executes the user's code


@pytest.mark.parametrize(
    ("source", "spec_suffix", "error", "named"),
    [
        ("def F(w): return 0.0\n", ":G", ValueError, "no function 'G'"),
        ("F = 3\n", ":F", ValueError, "not callable"),
        ("import no_such_module_xyz\n", ":F", ValueError, "ModuleNotFoundError"),
        ("def F(w): return 0.0\nF_grad = 2\n", ":F", ValueError, "F_grad exists but is not callable"),
        ("def F(w): return 0.0\n", "", ValueError, "path/to/module.py:function"),
    ],
)
def test_module_spec_errors(tmp_path: Path, source: str, spec_suffix: str, error: type, named: str) -> None:
    path = write_module(tmp_path, source)
    with pytest.raises(error) as exc:
        from_module(f"{path}{spec_suffix}", 2)
    assert named in str(exc.value)


def test_module_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        from_module(f"{tmp_path / 'absent.py'}:F", 2)
    with pytest.raises(ValueError, match=r"\.py"):
        from_module(f"{tmp_path / 'absent.txt'}:F", 2)


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("def F(w): return float('nan')\n", "nan"),
        ("def F(w): return float('inf')\n", "not finite"),
        (
            "import numpy as np\ndef F(w): return float(w @ w)\n"
            "def F_grad(w): return np.full(len(w), np.nan)\n",
            "NaN",
        ),
        (
            "import numpy as np\ndef F(w): return float(w @ w)\ndef F_grad(w): return np.zeros(len(w) + 1)\n",
            "shape",
        ),
        ("def F(w): return 'a string'\n", "expected a single number"),
        ("def F(w): return 1 / 0\n", "ZeroDivisionError"),
    ],
)
def test_bad_user_functions_are_refused_with_a_clear_message(tmp_path: Path, source: str, named: str) -> None:
    path = write_module(tmp_path, source)
    user, w = load(f"{path}:F", at="0.5,0.25")
    with pytest.raises(ValueError) as exc:
        check_at_point(user, w)
    assert named in str(exc.value)


def test_wrong_gradient_is_caught(tmp_path: Path) -> None:
    path = write_module(tmp_path, "def F(w): return float(w @ w)\ndef F_grad(w): return 3 * w\n")
    user, w = load(f"{path}:F", at="0.3,1")
    with pytest.raises(ValueError, match="gradient is inconsistent"):
        check_at_point(user, w)


def test_wrong_hessian_is_caught(tmp_path: Path) -> None:
    path = write_module(
        tmp_path,
        "import numpy as np\n"
        "def F(w): return float(w @ w)\n"
        "def F_grad(w): return 2 * w\n"
        "def F_hess(w): return 2.5 * np.eye(len(w))\n",
    )
    user, w = load(f"{path}:F", at="0.3,1")
    with pytest.raises(ValueError, match="Hessian is inconsistent"):
        check_at_point(user, w)


RELU2 = """
import numpy as np
def F(w): return float(np.sum(np.maximum(w, 0) ** 2))
def F_grad(w): return 2 * np.maximum(w, 0)
def F_hess(w): return np.diag(2.0 * (w > 0))
"""


def test_kink_in_the_hessian_is_not_smooth(tmp_path: Path) -> None:
    path = write_module(tmp_path, RELU2)
    user, w = load(f"{path}:F", at="0,1")
    with pytest.raises(ValueError, match="not twice differentiable"):
        check_at_point(user, w)
    user, w = load(f"{path}:F", at="0.3,1")  # away from the kink it is smooth
    check_at_point(user, w)


@pytest.mark.parametrize("with_grad", [True, False])
def test_kink_in_f_is_not_differentiable(tmp_path: Path, with_grad: bool) -> None:
    source = "import numpy as np\ndef F(w): return float(np.sum(np.abs(w)))\n"
    if with_grad:
        source += "def F_grad(w): return np.sign(w)\n"
    path = write_module(tmp_path, source)
    user, w = load(f"{path}:F", at="0,1,2")
    with pytest.raises(ValueError, match="not differentiable"):
        check_at_point(user, w)
    user, w = load(f"{path}:F", at="0.4,1,2")
    check_at_point(user, w)


def test_kink_in_an_expression_is_not_differentiable() -> None:
    user, w = load(expr="Abs(x) + y**2", variables="x,y", at="0,1")
    with pytest.raises(ValueError, match="not differentiable"):
        check_at_point(user, w)


@pytest.mark.parametrize(
    ("expr", "at"),
    [
        ("(1-x)**2 + 100*(y-x**2)**2", "0.5,0.5"),
        ("(1-x)**2 + 100*(y-x**2)**2", "1,1"),
        ("exp(x)*cosh(y) + 3", "2,3"),
        ("sin(30*x) + cos(7*y)", "1,2"),
        ("1e6*x**2 + 1e-6*y**4", "1,2"),
        ("x**4 + y**2", "0,0"),
    ],
)
def test_smooth_expressions_pass_the_checks(expr: str, at: str) -> None:
    user, w = load(expr=expr, variables="x,y", at=at)
    check_at_point(user, w)


# --------------------------------------------------------------------------- expression landscapes


def test_expression_derivatives_match_hand_derivatives() -> None:
    user = from_expression("(1 - x)**2 + 100*(y - x**2)**2", "x,y")
    L = user.landscape
    assert isinstance(L, ExpressionLandscape)
    x, y = 0.7, -0.2
    w = np.array([x, y])
    assert L.loss(w) == pytest.approx((1 - x) ** 2 + 100 * (y - x**2) ** 2, rel=1e-15)
    grad = [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]
    hess = [[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(L.grad(w), grad, rtol=1e-13)
    np.testing.assert_allclose(L.hessian(w), hess, rtol=1e-13)
    np.testing.assert_allclose(L.hvp(w, np.array([1.0, 2.0])), np.array(hess) @ [1.0, 2.0], rtol=1e-13)


def test_expression_batches_agree_with_single_points_and_broadcast_constants() -> None:
    L = from_expression("x + y**2 + 3", "x,y,z").landscape  # constant and zero derivatives
    W = np.array([[0.0, 1.0, 5.0], [2.0, -1.0, 0.0], [1.0, 0.5, 1.0]])
    np.testing.assert_array_equal(L.grad_batch(W), np.stack([L.grad(w) for w in W]))
    np.testing.assert_array_equal(L.grad_batch(W)[:, 0], 1.0)
    np.testing.assert_array_equal(L.loss_batch(W), [L.loss(w) for w in W])
    V = np.ones_like(W)
    np.testing.assert_array_equal(
        L.hvp_batch(W, V), np.stack([L.hvp(w, v) for w, v in zip(W, V, strict=True)])
    )
    assert L.hessian(W[0]).shape == (3, 3)


def test_expression_outside_its_domain_is_named() -> None:
    user, w = load(expr="log(x) + y**2", variables="x,y", at="-1,1")
    with pytest.raises(ValueError, match="NaN or inf"):
        check_at_point(user, w)


def test_expression_wrong_dimension() -> None:
    with pytest.raises(ValueError, match="N=2"):
        load(expr="x**2 + y**2", variables="x,y", at="1,2,3")


# --------------------------------------------------------------------------- Hessian files


def test_hessian_file_is_a_quadratic_with_minimum_zero(tmp_path: Path) -> None:
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.save(tmp_path / "h.npy", H)
    user, w = load(str(tmp_path / "h.npy"), at="1,-1")
    assert user.kind == "hessian"
    np.testing.assert_array_equal(user.landscape.w_star, [0.0, 0.0])
    assert user.landscape.loss(w) == pytest.approx(0.5 * w @ H @ w, rel=1e-15)
    user, _ = load(str(tmp_path / "h.npy"), at="1,-1", minimum="3")
    np.testing.assert_array_equal(user.landscape.w_star, [3.0, 3.0])


@pytest.mark.parametrize(
    ("matrix", "named"),
    [
        (np.ones((2, 3)), "square"),
        (np.ones(3), "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "not symmetric"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN or inf"),
    ],
)
def test_bad_hessian_files(tmp_path: Path, matrix: np.ndarray, named: str) -> None:
    np.save(tmp_path / "h.npy", matrix)
    with pytest.raises(ValueError, match=named):
        from_hessian_file(tmp_path / "h.npy")


def test_indefinite_hessian_file_is_reported_not_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.diag([1.0, -1.0]))
    user = from_hessian_file(tmp_path / "s.npy")
    assert any("indefinite" in note for note in user.notes)
