"""A PyTorch model's loss as a landscape: exact derivatives by ``torch.func``.

``F(w) = loss_fn(model(inputs), targets)`` over one fixed batch (usually the whole training
set), as a function of the model's trainable parameters flattened into one vector w:

* **order**: ``model.named_parameters()`` order, each tensor flattened row-major
  (``tensor.reshape(-1)``); only parameters with ``requires_grad=True`` enter w, the others
  and every buffer are held fixed.  A parameter shared by two modules appears once.
  :attr:`TorchLandscape.parameter_names` and :meth:`TorchLandscape.unflatten` give the map.
* **mode**: F is evaluated on a private copy of the model in ``eval()`` mode, so dropout is
  off and batch normalisation uses its stored running statistics (held fixed): F is then a
  deterministic function of w, which every derivative below assumes.  The user's model is
  never modified.
* **arithmetic**: float64 by default (the model copy, the floating inputs and targets are cast),
  or float32 on request; :attr:`TorchLandscape.eps` is the machine epsilon of the arithmetic
  used, for rounding bounds.
* **derivatives**: ∇F by ``torch.func.grad``; ∇²F·v forward-over-reverse,
  ``torch.func.jvp`` of ``torch.func.grad`` (one HVP costs a few forward passes), vectorised
  over many v or many (w, v) pairs by ``torch.func.vmap`` in chunks of ``chunk`` rows (the
  memory of a chunk is ``chunk`` × the activations of one forward pass; by default
  :func:`autodiff.default_chunk` keeps rows × N × chunk near CHUNK_ELEMENTS, rows × N standing in for
  the unknown size of the activations: at N = 10⁵ on 1797 rows vmap over 32 directions was
  both slower per product and ~3 GB larger than over 4).  The dense Hessian
  is assembled from HVPs of basis vectors and refused above ``autodiff.HESSIAN_MAX_N``.

torch is imported when a landscape is built, never when this module is imported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plasticity.numerics.landscapes.autodiff import AutodiffLandscape, default_chunk, first_line
from plasticity.numerics.landscapes.base import check_batch, check_point

__all__ = ["TorchLandscape", "from_torch", "import_torch"]


def import_torch() -> Any:
    """``torch``, or a one-line ImportError saying which extra installs it."""
    try:
        import torch
        import torch.func  # noqa: F401 - the transforms every landscape uses
    except ImportError:
        raise ImportError("PyTorch is not installed: pip install 'plasticity[torch]'") from None
    return torch


class TorchLandscape(AutodiffLandscape):
    """F(w) of a ``torch.nn.Module`` and a loss over one batch (see the module docstring).

    Built by :func:`from_torch`.  ``w0`` holds the model's own parameters, flattened: the
    natural point at which to evaluate the theory.  ``w_star`` is None unless given (the
    minimum of a trained network is not known exactly).
    """

    exact = ("grad", "hessian")  # autodiff: every derivative is exact up to rounding

    def __init__(
        self,
        model: Any,
        loss_fn: Callable[[Any, Any], Any],
        data: Sequence[Any],
        *,
        dtype: Any = None,
        w_star: np.ndarray | None = None,
        chunk: int | None = None,
    ) -> None:
        torch = import_torch()
        self._torch = torch
        self.dtype = _torch_dtype(torch, dtype)
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not callable(loss_fn):
            raise ValueError(f"loss_fn must be callable as loss_fn(outputs, targets); got {loss_fn!r}")
        if chunk is not None and (
            isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1
        ):
            raise ValueError(f"chunk must be a positive integer; got {chunk!r}")
        try:
            module = copy.deepcopy(model)
        except Exception as exc:  # noqa: BLE001 - any failure to copy is reported in one line
            raise ValueError(f"cannot copy the model: {first_line(exc)}") from None
        module = module.to(self.dtype).eval()
        trainable = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no parameters with requires_grad=True")
        self.parameter_names: tuple[str, ...] = tuple(name for name, _ in trainable)
        self.parameter_shapes: tuple[tuple[int, ...], ...] = tuple(tuple(p.shape) for _, p in trainable)
        self._sizes = [int(p.numel()) for _, p in trainable]
        self.n = int(sum(self._sizes))
        fixed = {name: p.detach() for name, p in module.named_parameters() if not p.requires_grad}
        fixed.update({name: b.detach() for name, b in module.named_buffers()})
        self._module, self._fixed, self._loss_fn = module, fixed, loss_fn
        self._inputs, self._targets = _split_data(torch, data, self.dtype)
        flat = torch.cat([p.detach().reshape(-1) for _, p in trainable])
        self.w0 = flat.cpu().numpy().astype(np.float64)
        rows = int(self._inputs.shape[0]) if self._inputs.ndim else 1
        self.chunk = default_chunk(rows, self.n) if chunk is None else int(chunk)
        self.eps = float(torch.finfo(self.dtype).eps)
        self.w_star = None if w_star is None else check_point(w_star, self.n, "w_star")
        self._build_transforms()
        value = self._call("loss_fn", self._raw_f, self._tensor(self.w0))
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ValueError(
                f"loss_fn(model(inputs), targets) must return one number; got "
                f"{type(value).__name__}{tuple(getattr(value, 'shape', ()))}"
            )

    # ----- the function and its transforms
    def _f(self, flat: Any) -> Any:
        return self._raw_f(flat).reshape(())

    def _raw_f(self, flat: Any) -> Any:
        torch = self._torch
        params: dict[str, Any] = {}
        offset = 0
        for name, shape, size in zip(self.parameter_names, self.parameter_shapes, self._sizes, strict=True):
            params[name] = flat[offset : offset + size].reshape(shape)
            offset += size
        out = torch.func.functional_call(self._module, (params, self._fixed), (self._inputs,))
        return self._loss_fn(out, self._targets)

    def _build_transforms(self) -> None:
        func = self._torch.func
        grad = func.grad(self._f)

        def hvp(w: Any, v: Any) -> Any:
            return func.jvp(grad, (w,), (v,))[1]

        self._grad = grad
        self._hvp = hvp
        self._hvp_many = func.vmap(hvp, in_dims=(None, 0))
        self._hvp_pairs = func.vmap(hvp, in_dims=(0, 0))
        self._loss_many = func.vmap(self._f)
        self._grad_many = func.vmap(grad)
        self._value_grad_many = func.vmap(func.grad_and_value(self._f))

    def _tensor(self, x: np.ndarray) -> Any:
        return self._torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(self.dtype)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (ValueError, FileNotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001 - the model or loss failing is the user's error
            raise ValueError(f"torch could not evaluate {what}: {first_line(exc)}") from None

    def _numpy(self, t: Any, what: str) -> np.ndarray:
        arr = t.detach().cpu().numpy().astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} is NaN or inf at the point given")
        return arr

    def _chunked(self, what: str, fn: Callable[..., Any], *blocks: np.ndarray) -> np.ndarray:
        """``fn`` over row chunks of the (k, n) arrays in ``blocks``; (n,) arrays are shared."""
        k = next(b.shape[0] for b in blocks if b.ndim == 2)
        shared = [self._tensor(b) if b.ndim == 1 else None for b in blocks]
        out = []
        for start in range(0, k, self.chunk):
            args = [
                s if s is not None else self._tensor(b[start : start + self.chunk])
                for s, b in zip(shared, blocks, strict=True)
            ]
            out.append(self._numpy(self._call(what, fn, *args), what))
        return np.concatenate(out, axis=0)

    # ----- the Landscape protocol
    def loss(self, w: np.ndarray) -> float:
        """F(w)."""
        w = check_point(w, self.n)
        return float(self._numpy(self._call("F", self._f, self._tensor(w)), "F"))

    def grad(self, w: np.ndarray) -> np.ndarray:
        """∇F(w), exact (reverse mode)."""
        w = check_point(w, self.n)
        return self._numpy(self._call("∇F", self._grad, self._tensor(w)), "∇F")

    def _hvp_one(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._numpy(self._call("∇²F·v", self._hvp, self._tensor(w), self._tensor(v)), "∇²F·v")

    def loss_grad_batch(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(F, ∇F) at each row of W from one reverse pass per row."""
        W = check_batch(W, self.n)
        grads, values = [], []
        for start in range(0, W.shape[0], self.chunk):
            g, f = self._call("∇F", self._value_grad_many, self._tensor(W[start : start + self.chunk]))
            grads.append(self._numpy(g, "∇F"))
            values.append(self._numpy(f, "F"))
        return np.concatenate(values), np.concatenate(grads, axis=0)

    # ----- the parameter map
    def unflatten(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """The parameter tensors (as float64 arrays, by name) that the flat vector ``w`` holds."""
        w = check_point(w, self.n)
        out, offset = {}, 0
        for name, shape, size in zip(self.parameter_names, self.parameter_shapes, self._sizes, strict=True):
            out[name] = w[offset : offset + size].reshape(shape)
            offset += size
        return out

    def __repr__(self) -> str:
        kind = type(self._module).__name__
        return f"TorchLandscape({kind}, N={self.n}, {str(self.dtype).removeprefix('torch.')}, eval mode)"


def _torch_dtype(torch: Any, dtype: Any) -> Any:
    if dtype is None:
        return torch.float64
    lookup = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32, "float": None}
    if isinstance(dtype, str):
        dtype = lookup.get(dtype)
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype must be torch.float64 or torch.float32; got {dtype!r}")
    return dtype


def _split_data(torch: Any, data: Any, dtype: Any) -> tuple[Any, Any]:
    """(inputs, targets) as tensors, floating ones cast to ``dtype``."""
    if not isinstance(data, list | tuple) or len(data) != 2:
        raise ValueError("data must be a pair (inputs, targets): one batch, usually the whole training set")

    def tensor(x: Any, name: str) -> Any:
        try:
            t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a tensor or an array; got {type(x).__name__}") from None
        t = t.detach()
        return t.to(dtype) if t.is_floating_point() else t

    return tensor(data[0], "inputs"), tensor(data[1], "targets")


def from_torch(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    data: Sequence[Any],
    *,
    dtype: Any = None,
    w_star: np.ndarray | None = None,
    chunk: int | None = None,
) -> TorchLandscape:
    """The landscape F(w) = ``loss_fn(model(inputs), targets)`` of a PyTorch model.

    ``data`` is one batch ``(inputs, targets)`` (tensors or arrays; usually the whole
    training set, so that F is the training loss).  ``dtype`` is ``torch.float64`` (default)
    or ``torch.float32``.  Parameters are flattened in ``model.named_parameters()`` order;
    F is evaluated in eval mode on a copy of the model (module docstring of
    :mod:`plasticity.numerics.landscapes.torch_model`).  ``w0`` is the model's current
    parameters, the default point of ``plasticity landscape``.
    """
    return TorchLandscape(model, loss_fn, data, dtype=dtype, w_star=w_star, chunk=chunk)
