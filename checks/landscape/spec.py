"""A user's landscape from a SPEC and a point from a POINT (what `plasticity landscape` loads).

SPEC is one of three kinds:

* ``path/to/module.py:name`` -- **the module is imported, so its code runs** with your
  permissions (it is your own code; do not point this at files you do not trust).
  If ``name`` can be called with no arguments it is a *factory*: ``name()`` returns a
  :class:`plasticity.numerics.landscapes.Landscape` (for instance a PyTorch or JAX model through
  :func:`plasticity.landscapes.from_torch` / :func:`plasticity.landscapes.from_jax`), and
  ``--at`` may be omitted when that landscape has a ``w0`` (its own parameters).
  Otherwise ``name(w)`` takes a float64 vector of length N and returns F(w).  Optional exact
  derivatives are found by name, first ``<function>_grad(w)``, ``<function>_hess(w)``,
  ``<function>_hvp(w, v)``, then module-level ``grad(w)``, ``hessian(w)``, ``hvp(w, v)``;
  whatever is missing is computed by central finite differences
  (:class:`plasticity.numerics.landscapes.FunctionLandscape`).  N is the length of the point (--at).
  For `--simulate`, the same functions may also be given over a batch of points, one point
  per row: ``<function>_batch(W)``, ``<function>_grad_batch(W)`` (or ``grad_batch``),
  ``<function>_hvp_batch(W, V)`` (or ``hvp_batch``), ``<function>_hess_batch(W)`` (or
  ``hess_batch``, shape (k, N, N), for the Newton rule); each ratio and repetition of a step
  is then one row of a single call.
* an expression ``--expr "(1-x)**2 + 100*(y-x**2)**2" --vars x,y`` -- parsed by the
  whitelisting parser :mod:`plasticity.checks.landscape.expr` (never ``eval``'d); gradient and
  Hessian are exact,
  by SymPy differentiation, lambdified to numpy and vectorised over batches of points.
* ``path/to/hessian.npy`` -- a symmetric N×N matrix H: the quadratic F = ½(w−w*)ᵀH(w−w*),
  whose minimum w* defaults to 0.

POINT (``--at``) is comma-separated numbers or a ``.npy`` file; ``--minimum`` is a POINT or a
single number meaning that value in every coordinate.  The module is loaded from its path
(``importlib.util.spec_from_file_location``); no string is ever evaluated.

Whether the loaded landscape is usable at the point is checked by
:func:`plasticity.checks.landscape.diagnostics.check_at_point`.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from plasticity.checks.landscape.expr import parse_expression, parse_variables
from plasticity.numerics.landscapes import ExpressionLandscape, FunctionLandscape, Landscape, Quadratic

__all__ = [
    "UserLandscape",
    "load",
    "from_module",
    "from_factory",
    "is_factory",
    "from_expression",
    "from_hessian_file",
    "parse_point",
    "parse_minimum",
    "spec_kind",
]

_counter = itertools.count()


@dataclass(frozen=True)
class UserLandscape:
    """A loaded landscape plus where it came from and which derivatives are exact."""

    landscape: Landscape
    kind: str  # "module", "expression" or "hessian"
    source: str
    exact: tuple[str, ...]  # derivatives supplied exactly: subset of ("grad", "hessian")
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- points


def _numbers(text: str, name: str) -> np.ndarray:
    parts = [p.strip() for p in text.split(",")]
    if any(p == "" for p in parts):
        raise ValueError(f"{name}: empty entry in {text!r} (use comma-separated numbers, e.g. 0.5,1,2)")
    values = []
    for p in parts:
        try:
            values.append(float(p))
        except ValueError:
            raise ValueError(f"{name}: {p!r} is not a number (in {text!r})") from None
    arr = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf ({text!r})")
    return arr


def _load_npy(path: str | Path, name: str) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: file not found: {p}")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{name}: cannot read {p} as a .npy array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: {p} holds {arr.dtype} data, not real numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: {p} contains NaN or inf")
    return arr


def parse_point(
    text: str | Sequence[float] | np.ndarray, n: int | None = None, name: str = "--at"
) -> np.ndarray:
    """A point from ``"1,2,3"``, a ``.npy`` file path or numbers; length checked against ``n``."""
    if isinstance(text, str):
        if text.strip().endswith(".npy"):
            arr = _load_npy(text.strip(), name)
        else:
            arr = _numbers(text, name)
    else:
        try:
            arr = np.asarray(text, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty vector; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} coordinates but the landscape has N={n} parameters")
    return arr


def parse_minimum(text: str | float | Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """w* from a POINT, or a single number meaning that value in every one of the ``n`` coordinates."""
    if isinstance(text, int | float | np.floating | np.integer):
        text = repr(float(text))
    if isinstance(text, str) and not text.strip().endswith(".npy") and "," not in text:
        value = _numbers(text, "--minimum")[0]
        return np.full(n, value)
    return parse_point(text, n, name="--minimum")


# --------------------------------------------------------------------------- guarding user code


def _guard(fn: Callable[..., object], label: str) -> Callable[..., object]:
    """Wrap a user callable so that an exception it raises becomes one clear ValueError."""

    def call(*args: object) -> object:
        try:
            with np.errstate(all="ignore"):  # NaN/inf are caught, and named, by the checks
                return fn(*args)
        except (ValueError, FileNotFoundError) as exc:
            raise ValueError(f"{label} raised {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of the user's code is a user error
            raise ValueError(f"{label} raised {type(exc).__name__}: {exc}") from None

    return call


# --------------------------------------------------------------------------- module SPEC


def _split_module_spec(spec: str) -> tuple[Path, str]:
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name:
        raise ValueError(f"module SPEC must look like path/to/module.py:function; got {spec!r}")
    path = Path(path_text)
    if path.suffix != ".py":
        raise ValueError(f"module SPEC must name a .py file before ':'; got {path_text!r}")
    if not path.exists():
        raise FileNotFoundError(f"module file not found: {path}")
    if not path.is_file():
        raise ValueError(f"module SPEC {path} is not a file")
    if not func_name.isidentifier():
        raise ValueError(f"{func_name!r} is not a valid Python function name")
    return path, func_name


def _import_module_spec(spec: str) -> tuple[Path, str, object, Callable[..., object]]:
    """Import the file a module SPEC names (this RUNS it); return (path, name, module, callable)."""
    path, func_name = _split_module_spec(spec)
    module_name = f"plasticity_user_landscape_{next(_counter)}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ValueError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module failing to import is a user error
        raise ValueError(f"importing {path} raised {type(exc).__name__}: {_one_line(exc)}") from None
    finally:
        sys.modules.pop(module_name, None)
    f = getattr(module, func_name, None)
    if f is None:
        public = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ValueError(f"{path} has no function {func_name!r} (callables found: {public})")
    if not callable(f):
        raise ValueError(f"{path}:{func_name} is not callable")
    return path, func_name, module, f


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def is_factory(fn: Callable[..., object]) -> bool:
    """Whether ``fn`` can be called with no arguments (a landscape factory, not F(w))."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in sig.parameters.values()
    )


def from_factory(spec: str, w_star: np.ndarray | str | float | None = None) -> UserLandscape:
    """Import ``path/to/module.py:factory`` (this RUNS the module) and call ``factory()``.

    The factory takes no arguments and returns a :class:`Landscape` (for instance
    :func:`plasticity.landscapes.from_torch` or :func:`plasticity.landscapes.from_jax` of a
    trained model).  Its derivatives count as exact unless it says otherwise in an ``exact``
    attribute (a subset of ``("grad", "hessian")``).  ``w_star`` (a POINT or one number) sets
    the known minimum.  Every failure is a one-line ``ValueError``.
    """
    path, name, _, factory = _import_module_spec(spec)
    return _call_factory(path, name, factory, w_star)


def _call_factory(
    path: Path, name: str, factory: Callable[..., object], w_star: np.ndarray | str | float | None
) -> UserLandscape:
    label = f"{path}:{name}"
    try:
        with np.errstate(all="ignore"):
            landscape = factory()
    except Exception as exc:  # noqa: BLE001 - the user's factory failing is a user error
        raise ValueError(f"{label}() raised {type(exc).__name__}: {_one_line(exc)}") from None
    if not isinstance(landscape, Landscape):
        missing = [
            a
            for a in ("n", "w_star", "loss", "grad", "hvp", "hessian", "grad_batch", "loss_batch")
            if not hasattr(landscape, a)
        ]
        raise ValueError(
            f"{label}() returned {type(landscape).__name__}, not a Landscape "
            f"(missing: {', '.join(missing)}); return e.g. plasticity.landscapes.from_torch(...)"
        )
    n = getattr(landscape, "n", None)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{label}() returned a landscape whose n is {n!r}, not a positive integer")
    if w_star is not None:
        try:
            landscape.w_star = parse_minimum(w_star, int(n))  # type: ignore[misc]
        except AttributeError:
            raise ValueError(
                f"{label}() returned a landscape whose w_star cannot be set: give it its minimum "
                f"when building it, instead of --minimum"
            ) from None
    exact = _exact_derivatives(landscape)
    notes = (f"landscape built by {name}(): {landscape!r}",)
    return UserLandscape(landscape, "module", label, exact, notes)


def _exact_derivatives(landscape: Landscape) -> tuple[str, ...]:
    """Which derivatives of a factory's landscape are exact: its own ``exact`` attribute, else
    what a FunctionLandscape was given (``has_grad``/``has_hessian``), else all of them."""
    exact = getattr(landscape, "exact", None)
    if exact is not None:
        return tuple(k for k in ("grad", "hessian") if k in tuple(exact))
    if hasattr(landscape, "has_grad") and hasattr(landscape, "has_hessian"):
        return tuple(k for k, v in (("grad", landscape.has_grad), ("hessian", landscape.has_hessian)) if v)
    return ("grad", "hessian")


def from_module(spec: str, n: int, w_star: np.ndarray | None = None) -> UserLandscape:
    """Import ``path/to/module.py:function`` (this RUNS the module) and wrap it as a landscape.

    Gradient / Hessian / HVP callables are taken from ``<function>_grad``, ``<function>_hess``,
    ``<function>_hvp`` or else module-level ``grad``, ``hessian``, ``hvp``; missing ones are
    finite differences.  Batched versions (one point per row) are taken from
    ``<function>_batch``, ``<function>_grad_batch``/``grad_batch``,
    ``<function>_hvp_batch``/``hvp_batch`` and ``<function>_hess_batch``/``hess_batch``.
    ``n`` is the number of parameters (the length of the point).
    A ``function`` that takes no arguments is a factory (:func:`from_factory`).
    """
    path, func_name, module, f = _import_module_spec(spec)
    if is_factory(f):
        return _call_factory(path, func_name, f, w_star)
    return _function_landscape(path, func_name, module, f, n, w_star)


def _function_landscape(
    path: Path,
    func_name: str,
    module: object,
    f: Callable[..., object],
    n: int,
    w_star: np.ndarray | None,
) -> UserLandscape:
    """F(w) = ``f(w)`` with whatever derivatives ``module`` supplies by name (see from_module)."""

    def find(*names: str) -> tuple[str, Callable[..., object]] | tuple[None, None]:
        for name in names:
            fn = getattr(module, name, None)
            if fn is not None:
                if not callable(fn):
                    raise ValueError(f"{path}:{name} exists but is not callable")
                return name, fn
        return None, None

    grad_name, grad = find(f"{func_name}_grad", "grad")
    hess_name, hess = find(f"{func_name}_hess", f"{func_name}_hessian", "hessian", "hess")
    hvp_name, hvp = find(f"{func_name}_hvp", "hvp")
    f_batch_name, f_batch = find(f"{func_name}_batch")
    grad_batch_name, grad_batch = find(f"{func_name}_grad_batch", "grad_batch")
    hvp_batch_name, hvp_batch = find(f"{func_name}_hvp_batch", "hvp_batch")
    hess_batch_name, hess_batch = find(f"{func_name}_hess_batch", "hess_batch")

    def guarded(name: str | None, fn: Callable[..., object] | None) -> Callable[..., object] | None:
        return None if fn is None else _guard(fn, str(name))

    landscape = FunctionLandscape(
        _guard(f, f"{func_name}"),
        n,
        grad=guarded(grad_name, grad),
        hess=guarded(hess_name, hess),
        hvp=guarded(hvp_name, hvp),
        w_star=w_star,
        f_batch=guarded(f_batch_name, f_batch),
        grad_batch=guarded(grad_batch_name, grad_batch),
        hvp_batch=guarded(hvp_batch_name, hvp_batch),
        hess_batch=guarded(hess_batch_name, hess_batch),
    )
    exact = tuple(
        k for k, v in (("grad", grad or grad_batch), ("hessian", hess or hvp or hvp_batch)) if v is not None
    )
    named = (grad_name, hess_name, hvp_name, f_batch_name, grad_batch_name, hvp_batch_name, hess_batch_name)
    found = [name for name in named if name]
    notes = (
        f"derivatives supplied by the module: {', '.join(found) if found else 'none'}; "
        f"the rest by central finite differences",
    )
    return UserLandscape(landscape, "module", f"{path}:{func_name}", exact, notes)


# --------------------------------------------------------------------------- expression SPEC


def from_expression(
    text: str, variables: str | Sequence[str], w_star: np.ndarray | None = None
) -> UserLandscape:
    """A landscape from a whitelisted SymPy expression in ``variables`` (exact derivatives)."""
    names = parse_variables(variables)
    expr = parse_expression(text, names)
    symbols = [sp.Symbol(name, real=True) for name in names]
    unused = [name for name, s in zip(names, symbols, strict=True) if s not in expr.free_symbols]
    notes = (f"variables not in the expression (flat directions): {', '.join(unused)}",) if unused else ()
    landscape = ExpressionLandscape(expr, symbols, w_star=w_star)
    return UserLandscape(landscape, "expression", str(expr), ("grad", "hessian"), notes)


# --------------------------------------------------------------------------- Hessian SPEC


def from_hessian_file(path: str | Path, w_star: np.ndarray | None = None) -> UserLandscape:
    """The quadratic ½(w−w*)ᵀH(w−w*) for H stored in a ``.npy`` file (w* defaults to 0)."""
    H = _load_npy(path, "Hessian file")
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"Hessian file {path}: expected a square N×N matrix, got shape {H.shape}")
    landscape = Quadratic(H, w_star=w_star)
    notes = (
        () if landscape.is_positive_semidefinite else ("H is indefinite: its stationary point is a saddle",)
    )
    return UserLandscape(landscape, "hessian", str(path), ("grad", "hessian"), notes)


# --------------------------------------------------------------------------- dispatch


def spec_kind(spec: str | None, expr: str | None) -> str:
    """Which SPEC kind the arguments describe ("module", "expression" or "hessian")."""
    if expr is not None:
        if spec:
            raise ValueError("give either a SPEC or --expr, not both")
        return "expression"
    if not spec:
        raise ValueError(
            "no landscape given: pass SPEC (module.py:function or hessian.npy) or --expr with --vars"
        )
    if spec.endswith(".npy"):
        return "hessian"
    if ":" in spec:
        return "module"
    raise ValueError(
        f"cannot tell what SPEC {spec!r} is: use path/to/module.py:function, path/to/hessian.npy, "
        f"or --expr EXPR --vars x,y"
    )


def _load_module(
    spec: str,
    at: str | Sequence[float] | np.ndarray | None,
    minimum: str | float | Sequence[float] | np.ndarray | None,
) -> tuple[UserLandscape, np.ndarray]:
    """A module SPEC and its point: a factory's landscape at ``at`` or its ``w0``, or F(w) at ``at``."""
    path, name, module, fn = _import_module_spec(spec)
    if is_factory(fn):
        user = _call_factory(path, name, fn, minimum)
        n = user.landscape.n
        if at is not None:
            return user, parse_point(at, n)
        w0 = getattr(user.landscape, "w0", None)
        if w0 is None:
            raise ValueError(
                f"--at POINT is required: the landscape {name}() returned has no w0 (default point)"
            )
        return user, parse_point(w0, n, name=f"{name}().w0")
    if at is None:
        raise ValueError(
            f"--at POINT is required for a function F(w) such as {name}: comma-separated numbers or a .npy "
            "file (only a factory, taking no arguments and returning a Landscape with w0, needs none)"
        )
    w = parse_point(at)
    w_star = None if minimum is None else parse_minimum(minimum, w.size)
    return _function_landscape(path, name, module, fn, w.size, w_star), w


def load(
    spec: str | None = None,
    *,
    expr: str | None = None,
    variables: str | Sequence[str] | None = None,
    at: str | Sequence[float] | np.ndarray | None = None,
    minimum: str | float | Sequence[float] | np.ndarray | None = None,
) -> tuple[UserLandscape, np.ndarray]:
    """Load a landscape from the command-line pieces and the point ``at``; returns (landscape, w).

    N is taken from the expression's variables, the Hessian's size, a factory's landscape,
    or (for a function F(w)) the point's length.  ``--at`` is required except for a module
    factory whose landscape has ``w0`` (its own parameters, e.g. a trained model's), which is
    then the point.
    """
    kind = spec_kind(spec, expr)
    if kind == "expression" and variables is None:
        raise ValueError("--expr needs --vars, the comma-separated variable names, e.g. --vars x,y")
    if kind != "expression" and variables is not None:
        raise ValueError("--vars only goes with --expr")
    if kind == "module":
        return _load_module(str(spec), at, minimum)
    if at is None:
        raise ValueError("--at POINT is required: comma-separated numbers or a .npy file")
    if kind == "expression":
        names = parse_variables(variables)  # type: ignore[arg-type]
        n = len(names)
        w = parse_point(at, n)
        w_star = None if minimum is None else parse_minimum(minimum, n)
        user = from_expression(str(expr), names, w_star)
    else:
        H = _load_npy(str(spec), "Hessian file")
        n = H.shape[0] if H.ndim == 2 else -1
        if n < 0:
            raise ValueError(f"Hessian file {spec}: expected a square N×N matrix, got shape {H.shape}")
        w = parse_point(at, n)
        w_star = np.zeros(n) if minimum is None else parse_minimum(minimum, n)
        user = from_hessian_file(str(spec), w_star)
    return user, w
