"""A JAX loss as a landscape: exact derivatives by ``jax.grad`` and ``jax.jvp``.

``F(w) = loss_fn(params, batch)`` where ``params`` is any pytree of floating arrays (the
model's parameters) and ``batch`` any pytree of data held fixed:

* **order**: the pytree is flattened by ``jax.flatten_util.ravel_pytree`` (leaves in
  ``jax.tree_util`` order, each raveled row-major); :meth:`JaxLandscape.unflatten` is its
  inverse.
* **arithmetic**: float64 by default.  JAX computes in float32 unless its ``jax_enable_x64``
  flag is set; the landscape sets it only for the duration of each of its own calls (the
  ``jax.enable_x64`` context manager), so the rest of the program keeps its own setting.
  The parameters and the batch's floating leaves are cast to float64 once, on construction.
  ``dtype="float32"`` computes in float32 instead; :attr:`JaxLandscape.eps` is the machine
  epsilon of the arithmetic used, for rounding bounds.
* **derivatives**: ∇F by ``jax.grad``; ∇²F·v forward-over-reverse (``jax.jvp`` of
  ``jax.grad``), vectorised over many v or many (w, v) pairs by ``jax.vmap`` in chunks of
  ``chunk`` rows; every transform is ``jax.jit``-compiled once per chunk shape.  The dense
  Hessian is assembled from HVPs of basis vectors and refused above ``autodiff.HESSIAN_MAX_N``.

jax is imported when a landscape is built, never when this module is imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from plasticity.numerics.landscapes.autodiff import AutodiffLandscape, default_chunk, first_line
from plasticity.numerics.landscapes.base import check_batch, check_point

__all__ = ["JaxLandscape", "from_jax", "import_jax"]


def import_jax() -> Any:
    """``jax``, or a one-line ImportError saying which extra installs it."""
    try:
        import jax
        import jax.flatten_util  # noqa: F401 - ravel_pytree
    except ImportError:
        raise ImportError("JAX is not installed: pip install 'plasticity[jax]'") from None
    return jax


def _x64_context(jax: Any) -> Callable[[bool], contextlib.AbstractContextManager[Any]]:
    """The scoped float64 switch: ``jax.enable_x64`` (newer jax) or its experimental home."""
    ctx = getattr(jax, "enable_x64", None)
    if ctx is None:  # jax < 0.4.31
        from jax.experimental import enable_x64 as ctx
    return ctx


class JaxLandscape(AutodiffLandscape):
    """F(w) = ``loss_fn(unflatten(w), batch)`` for a JAX loss (see the module docstring).

    Built by :func:`from_jax`.  ``w0`` holds the parameters passed in, flattened: the natural
    point at which to evaluate the theory.  ``w_star`` is None unless given.
    """

    exact = ("grad", "hessian")  # autodiff: every derivative is exact up to rounding

    def __init__(
        self,
        loss_fn: Callable[[Any, Any], Any],
        params: Any,
        batch: Any,
        *,
        dtype: str = "float64",
        w_star: np.ndarray | None = None,
        chunk: int | None = None,
    ) -> None:
        jax = import_jax()
        self._jax = jax
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
        self.dtype = dtype
        if not callable(loss_fn):
            raise ValueError(f"loss_fn must be callable as loss_fn(params, batch); got {loss_fn!r}")
        if chunk is not None and (
            isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1
        ):
            raise ValueError(f"chunk must be a positive integer; got {chunk!r}")
        self._scope = (lambda: _x64_context(jax)(True)) if dtype == "float64" else contextlib.nullcontext
        with self._scope():
            import jax.numpy as jnp

            self._jnp = jnp
            leaves = jax.tree_util.tree_leaves(params)
            if not leaves:
                raise ValueError("params has no arrays: pass the model's parameters as a pytree of arrays")
            for leaf in leaves:
                if not np.issubdtype(np.asarray(leaf).dtype, np.floating):
                    raise ValueError(
                        f"every leaf of params must be floating point; found {np.asarray(leaf).dtype}"
                    )

            def cast(x: Any) -> Any:
                arr = jnp.asarray(x)
                return arr.astype(dtype) if jnp.issubdtype(arr.dtype, jnp.floating) else arr

            params = jax.tree_util.tree_map(cast, params)
            self._batch = jax.tree_util.tree_map(cast, batch)
            flat, self._unravel = jax.flatten_util.ravel_pytree(params)
            self.n = int(flat.size)
            # rows of data: the longest leading axis among the batch's arrays
            rows = max(
                (int(np.shape(x)[0]) for x in jax.tree_util.tree_leaves(batch) if np.ndim(x)), default=1
            )
            self.chunk = default_chunk(rows, self.n) if chunk is None else int(chunk)
            self.w0 = np.asarray(flat, dtype=np.float64)
            self.eps = float(jnp.finfo(dtype).eps)
            self._loss_fn = loss_fn
            shape = self._call(
                "loss_fn", jax.eval_shape, lambda w, b: loss_fn(self._unravel(w), b), flat, self._batch
            )
            if int(np.prod(getattr(shape, "shape", (-1,)))) != 1:
                raise ValueError(
                    "loss_fn(params, batch) must return one number; got shape "
                    f"{getattr(shape, 'shape', shape)}"
                )
            self._build_transforms()
            self._call("loss_fn", self._f, self.w0, self._batch)
        self.w_star = None if w_star is None else check_point(w_star, self.n, "w_star")

    def _build_transforms(self) -> None:
        jax = self._jax

        def f(w: Any, batch: Any) -> Any:
            return self._jnp.reshape(self._loss_fn(self._unravel(w), batch), ())

        grad = jax.grad(f)

        def hvp(w: Any, v: Any, batch: Any) -> Any:
            return jax.jvp(lambda x: grad(x, batch), (w,), (v,))[1]

        self._f = jax.jit(f)
        self._grad = jax.jit(grad)
        self._hvp = jax.jit(hvp)
        self._hvp_many = jax.jit(jax.vmap(hvp, in_axes=(None, 0, None)))
        self._hvp_pairs = jax.jit(jax.vmap(hvp, in_axes=(0, 0, None)))
        self._loss_many = jax.jit(jax.vmap(f, in_axes=(0, None)))
        self._grad_many = jax.jit(jax.vmap(grad, in_axes=(0, None)))
        self._value_grad_many = jax.jit(jax.vmap(jax.value_and_grad(f), in_axes=(0, None)))

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        with self._scope():
            args = tuple(a.astype(self.dtype) if isinstance(a, np.ndarray) else a for a in args)
            try:
                return fn(*args)
            except (ValueError, FileNotFoundError) as exc:
                raise ValueError(f"jax could not evaluate {what}: {first_line(exc)}") from None
            except Exception as exc:  # noqa: BLE001 - the user's loss failing is the user's error
                raise ValueError(f"jax could not evaluate {what}: {first_line(exc)}") from None

    @staticmethod
    def _numpy(x: Any, what: str) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} is NaN or inf at the point given")
        return arr

    def _chunks(self, what: str, fn: Callable[..., Any], *blocks: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """``fn(*blocks, batch)`` over row chunks of the (k, n) arrays ((n,) arrays are shared),
        each output a tuple of float64 arrays.  A chunk's rows are padded (repeating its last
        row) to the next power of two, so that each transform compiles for at most
        log2(chunk) + 1 shapes; the padding rows are dropped."""
        k = next(b.shape[0] for b in blocks if b.ndim == 2)
        out = []
        for start in range(0, k, self.chunk):
            rows = min(self.chunk, k - start)
            size = 1 << (rows - 1).bit_length()
            args = [b if b.ndim == 1 else _pad(b[start : start + rows], size) for b in blocks]
            result = self._call(what, fn, *args, self._batch)
            parts = result if isinstance(result, tuple) else (result,)
            out.append(tuple(self._numpy(np.asarray(r)[:rows], what) for r in parts))
        return out

    def _chunked(self, what: str, fn: Callable[..., Any], *blocks: np.ndarray) -> np.ndarray:
        return np.concatenate([c[0] for c in self._chunks(what, fn, *blocks)], axis=0)

    # ----- the Landscape protocol
    def loss(self, w: np.ndarray) -> float:
        """F(w)."""
        return float(self._numpy(self._call("F", self._f, check_point(w, self.n), self._batch), "F"))

    def grad(self, w: np.ndarray) -> np.ndarray:
        """∇F(w), exact (reverse mode)."""
        return self._numpy(self._call("∇F", self._grad, check_point(w, self.n), self._batch), "∇F")

    def _hvp_one(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._numpy(self._call("∇²F·v", self._hvp, w, v, self._batch), "∇²F·v")

    def loss_grad_batch(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(F, ∇F) at each row of W from one reverse pass per row."""
        chunks = self._chunks("∇F", self._value_grad_many, check_batch(W, self.n))
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks], axis=0)

    # ----- the parameter map
    def unflatten(self, w: np.ndarray) -> Any:
        """The parameter pytree that the flat vector ``w`` holds (leaves as jax arrays)."""
        with self._scope():
            return self._unravel(self._jnp.asarray(check_point(w, self.n).astype(self.dtype)))

    def __repr__(self) -> str:
        return f"JaxLandscape(N={self.n}, {self.dtype})"


def _pad(rows: np.ndarray, size: int) -> np.ndarray:
    """``rows`` extended to ``size`` rows by repeating its last row."""
    if rows.shape[0] == size:
        return rows
    return np.concatenate([rows, np.repeat(rows[-1:], size - rows.shape[0], axis=0)])


def from_jax(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    batch: Any,
    *,
    dtype: str = "float64",
    w_star: np.ndarray | None = None,
    chunk: int | None = None,
) -> JaxLandscape:
    """The landscape F(w) = ``loss_fn(params, batch)`` of a JAX model.

    ``params`` is a pytree of floating arrays (flattened by ``ravel_pytree``), ``batch`` a
    pytree of data held fixed (usually the whole training set).  float64 by default, enabled
    only inside the landscape's own calls (module docstring of
    :mod:`plasticity.numerics.landscapes.jax_model`).  ``w0`` is ``params`` flattened, the
    default point of ``plasticity landscape``.  ``chunk`` (default
    :func:`~plasticity.numerics.landscapes.autodiff.default_chunk` of the data's rows and N)
    is how many products one vmap evaluates.
    """
    return JaxLandscape(loss_fn, params, batch, dtype=dtype, w_star=w_star, chunk=chunk)
