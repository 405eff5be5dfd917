"""The paper's student-teacher networks: architecture, Xavier initialisation, weight packing.

Layers are Flux-style ``Dense``: ``y = act(W x + b)`` with ``W`` of shape (fan_out, fan_in).
Biases are zero and never change, so only weight matrices are parameters; the flat weight
vector is the row-major concatenation of the matrices (N = 440 nonlinear, 120 linear).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Architecture:
    """Layer sizes and hidden activation of a fully connected network."""

    name: str
    sizes: tuple[int, ...]
    hidden_activation: str | None  # "sigmoid" for hidden layers, or None (linear network)

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """Weight-matrix shapes, (fan_out, fan_in) per layer."""
        return tuple((o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def n_weights(self) -> int:
        """N: the number of plastic parameters (matrix entries)."""
        return sum(o * i for o, i in self.shapes)


NONLINEAR = Architecture("nonlinear", (12, 20, 10), "sigmoid")
LINEAR = Architecture("linear", (12, 10), None)
ARCHITECTURES = {a.name: a for a in (NONLINEAR, LINEAR)}


def architecture(name: str) -> Architecture:
    """Look up an architecture by name, with a clear error for unknown names."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {sorted(ARCHITECTURES)}") from None


def xavier_uniform(rng: np.random.Generator, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """Glorot/Xavier uniform draw for a weight matrix of shape (..., fan_out, fan_in)."""
    fan_out, fan_in = shape[-2], shape[-1]
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def init_weights(arch: Architecture, rng: np.random.Generator, dtype: type = np.float32) -> list[np.ndarray]:
    """A freshly initialised network's weight matrices (the paper's teacher)."""
    return [xavier_uniform(rng, s, dtype) for s in arch.shapes]


def pack(weights: list[np.ndarray]) -> np.ndarray:
    """Flatten weight matrices (each (..., o, i)) into vectors (..., N), row-major."""
    lead = weights[0].shape[:-2]
    return np.concatenate([w.reshape(*lead, -1) for w in weights], axis=-1)


def unpack(w: np.ndarray, arch: Architecture) -> list[np.ndarray]:
    """Inverse of :func:`pack`: views of ``w`` (..., N) as matrices (..., o, i)."""
    w = np.asarray(w)
    if w.shape[-1] != arch.n_weights:
        raise ValueError(
            f"weight vector has {w.shape[-1]} entries; the {arch.name} network has N={arch.n_weights}"
        )
    out, start = [], 0
    for o, i in arch.shapes:
        out.append(w[..., start : start + o * i].reshape(*w.shape[:-1], o, i))
        start += o * i
    return out


# --------------------------------------------------------------------------- exact maths
#
# The one exact implementation: networks stacked along leading axes, samples as columns.
# Layer l (0-based) maps h_l -> a_l = W_l h_l -> h_{l+1} = φ_l(a_l), with h_0 = x (n_in, P)
# and φ the hidden activation on hidden layers, identity on the output layer.  The error is
# F = Σ_p c_p ‖r_p‖² / (n_out Σ_p c_p), r = out − y (c = 1: the mean over samples × outputs),
# so the backward signal at the output is δ = s·r with s = 2c/(n_out Σc).  Everything
# broadcasts over leading axes of w, x and y and keeps their dtype.  The sigmoid is computed as
# σ(a) = (1 + tanh(a/2))/2 (an exact identity), so σ' = h(1 − h) and σ'' = σ'(1 − 2h).
# The single-network API (:class:`Pass`, :func:`loss`, ...; inputs as rows (P, n_in)) is this
# path with the inputs transposed at the boundary.


def _check_activation(arch: Architecture) -> bool:
    """True for sigmoid hidden layers, False for identity ones; ValueError for anything else."""
    if arch.hidden_activation not in (None, "sigmoid"):
        raise ValueError(f"unsupported hidden activation {arch.hidden_activation!r}; use 'sigmoid' or None")
    return arch.hidden_activation == "sigmoid"


def activations(arch: Architecture, mats: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output [h_0 = x, h_1, ..., out] for weight matrices (..., o, i) on inputs
    (..., n_in, P), samples as columns, zero biases.  Keeps the dtype of its arguments (the
    engine builds its float32 teacher targets with it)."""
    sig = _check_activation(arch)
    acts = [x]
    h = x
    for layer, m in enumerate(mats):
        h = m @ h
        if layer < len(mats) - 1 and sig:
            h = 0.5 + 0.5 * np.tanh(0.5 * h)
        acts.append(h)
    return acts


class BatchPass:
    """One exact forward pass of networks stacked along leading axes, with its derivatives.

    ``w`` (..., N); inputs ``x`` (..., n_in, P) and targets ``y`` (..., n_out, P), samples as
    columns, broadcasting against w's leading axes; optional sample ``counts`` (..., P) weight
    the error (a bootstrap batch: c_p = how often sample p was drawn).  Holds the activations
    and backpropagated signals so that the error, the gradient and any number of
    Hessian-vector products at this point cost no further forward passes.  This is the one
    implementation of the network maths; everything else in the package calls it.
    """

    def __init__(
        self,
        arch: Architecture,
        w: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        counts: np.ndarray | None = None,
    ) -> None:
        self.arch = arch
        self.sigmoid = _check_activation(arch)
        self.mats = unpack(w, arch)
        self.acts = activations(arch, self.mats, x)
        self.r = self.acts[-1] - y
        o, p = self.r.shape[-2:]
        self.counts = counts
        if counts is None:
            self.scale = 2.0 / (o * p)  # ∂F/∂out = scale · r
        else:
            self._total = counts.sum(axis=-1) * o
            self.scale = (2.0 * counts / self._total[..., None])[..., None, :]
        self._deriv: list[np.ndarray | None] | None = None
        self._deltas: tuple[list[np.ndarray], list[np.ndarray | None]] | None = None

    @property
    def deriv(self) -> list[np.ndarray | None]:
        """σ'(a_l) = h_{l+1}(1 − h_{l+1}) per layer for sigmoid hidden layers (None: identity)."""
        if self._deriv is None:
            last = len(self.mats) - 1
            self._deriv = [
                h * (1 - h) if self.sigmoid and l < last else None for l, h in enumerate(self.acts[1:])
            ]
        return self._deriv

    @property
    def loss(self) -> np.ndarray:
        """The (count-weighted) mean squared error over outputs × samples, shape (...)."""
        o, p = self.r.shape[-2:]
        if self.counts is None:
            return (self.r * self.r).sum(axis=(-2, -1)) / (o * p)
        return (self.counts * (self.r * self.r).sum(axis=-2)).sum(axis=-1) / self._total

    def _backprop(self) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """δ_l = ∂F/∂a_l for every layer and the back-projections W_lᵀ δ_l (l ≥ 1)."""
        if self._deltas is None:
            L = len(self.mats)
            ds: list[np.ndarray] = [np.empty(0)] * L
            backs: list[np.ndarray | None] = [None] * L
            d = self.scale * self.r
            ds[L - 1] = d
            for l in range(L - 1, 0, -1):
                back = np.swapaxes(self.mats[l], -1, -2) @ d
                backs[l] = back
                dl = self.deriv[l - 1]
                d = back * dl if dl is not None else back
                ds[l - 1] = d
            self._deltas = (ds, backs)
        return self._deltas

    def deltas(self) -> list[np.ndarray]:
        """δ_l = ∂F/∂a_l (..., o_l, P) for every layer (backpropagation)."""
        return self._backprop()[0]

    def gradient(self) -> np.ndarray:
        """Exact ∇F (..., N) in the flat layout of :func:`pack`."""
        ds = self.deltas()
        return pack([d @ np.swapaxes(h, -1, -2) for d, h in zip(ds, self.acts[:-1], strict=True)])

    def hvp(self, V: np.ndarray) -> np.ndarray:
        """Exact ∇²F·v by the R-operator (Pearlmutter 1994): Gauss-Newton plus the σ'' term.

        V (..., N): its leading axes broadcast against the point's (insert an axis in the
        point's arrays to get k directions per network).
        """
        Vs = unpack(V, self.arch)
        ds, backs = self._backprop()
        acts, mats, L = self.acts, self.mats, len(self.mats)
        # forward R-pass: R(h_l), with R(h_0) = 0 (inputs do not depend on w)
        rh = np.zeros_like(acts[0])
        r_act = [rh]
        for l in range(L):
            ra = Vs[l] @ acts[l] + (mats[l] @ rh if l > 0 else 0.0)
            dl = self.deriv[l]
            rh = dl * ra if dl is not None else ra
            r_act.append(rh)
        # backward pass's R-pass: R(δ_l) and R(∂F/∂W_l)
        rd = self.scale * r_act[-1]
        rgrads: list[np.ndarray] = [np.empty(0)] * L
        for l in range(L - 1, -1, -1):
            rgrads[l] = rd @ np.swapaxes(acts[l], -1, -2) + ds[l] @ np.swapaxes(r_act[l], -1, -2)
            if l > 0:
                rback = np.swapaxes(Vs[l], -1, -2) @ ds[l] + np.swapaxes(mats[l], -1, -2) @ rd
                dl = self.deriv[l - 1]
                if dl is not None:
                    # R(σ'(a)) = σ''(a) R(a) = σ'(a)(1 − 2h) R(a), and σ'(a) R(a) = R(h)
                    rd = rback * dl + backs[l] * (1 - 2 * acts[l]) * r_act[l]
                else:
                    rd = rback
        lead = np.broadcast_shapes(*(g.shape[:-2] for g in rgrads))
        return pack([np.broadcast_to(g, (*lead, *g.shape[-2:])) for g in rgrads])


def check_inputs(arch: Architecture, X: object, name: str = "inputs") -> np.ndarray:
    """Inputs as a finite float64 array (P, n_in), or a ValueError naming the problem."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array") from None
    if X.ndim != 2 or X.shape[1] != arch.sizes[0] or X.shape[0] == 0:
        raise ValueError(f"{name} must have shape (P, {arch.sizes[0]}) with P ≥ 1; got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contain NaN or inf")
    return X


#: Pass.hvp(method="auto") multiplies by the cached structured Hessian for at least this many
#: directions at one point (measured: one R-operator HVP of the nonlinear net on 1000 inputs
#: costs ~1/20 of the Hessian, and k products cost ~k single ones) ...
HESSIAN_HVP_MIN_K = 16
#: ... and only for networks small enough that the dense N×N Hessian is cheap.
HESSIAN_HVP_MAX_N = 2000


class Pass:
    """One exact forward pass at weights ``w`` (N,) or a batch (..., N) on inputs X (P, n_in).

    The single-network view of :class:`BatchPass` with samples as rows: ``h`` (layer inputs
    and output, each (..., P, width)), ``r`` (residual), ``deltas()`` are its arrays
    transposed.  Adds the structured Hessian and the choice of HVP method.
    """

    def __init__(self, arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> None:
        self.arch = arch
        self.w = np.asarray(w, dtype=np.float64)
        self.X = X
        if Y.shape != (X.shape[0], arch.sizes[-1]):
            raise ValueError(f"targets must have shape {(X.shape[0], arch.sizes[-1])}; got {Y.shape}")
        self.batch = BatchPass(arch, self.w, np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T))
        self.Ws = self.batch.mats
        self.h = [np.swapaxes(a, -1, -2) for a in self.batch.acts]  # inputs of each layer, then out
        self.out = self.h[-1]
        self.r = np.swapaxes(self.batch.r, -1, -2)
        self.c2 = self.batch.scale  # d(loss)/d(out) = c2 · r
        self._hessian: np.ndarray | None = None

    @property
    def loss(self) -> np.ndarray:
        """Mean squared error over samples × outputs (a scalar array, or (...,) for a batch)."""
        return self.batch.loss

    def deltas(self) -> list[np.ndarray]:
        """δ_l = ∂F/∂a_l (..., P, o_l) for every layer (backpropagation)."""
        return [np.swapaxes(d, -1, -2) for d in self.batch.deltas()]

    def gradient(self) -> np.ndarray:
        """Exact ∇F (..., N) in the flat layout of :func:`pack`."""
        return self.batch.gradient()

    def hvp(self, V: np.ndarray, method: str = "auto") -> np.ndarray:
        """Exact ∇²F·v, v of shape (..., N).

        V's leading axes broadcast against the point's: one point with V (k, N) gives k
        products; a batch of points (k, N) with V (k, N) gives row-paired products.
        ``method``: "rop" always uses the R-operator (:meth:`BatchPass.hvp`); "hessian"
        multiplies by the structured Hessian (built once per point, then cached); "auto" takes
        the Hessian for many directions at one point of a small network (k ≥
        HESSIAN_HVP_MIN_K, N ≤ HESSIAN_HVP_MAX_N), where it is several times cheaper, and the
        R-operator otherwise.  Both are exact; they differ by rounding only.
        """
        if method not in ("auto", "rop", "hessian"):
            raise ValueError(f"unknown HVP method {method!r}; use 'auto', 'rop' or 'hessian'")
        single_point = self.w.ndim == 1
        V = np.asarray(V, dtype=np.float64)
        if method == "hessian" and not single_point:
            raise ValueError("method='hessian' needs a single weight vector, not a batch of points")
        if method == "auto" and single_point and V.ndim == 2:
            small = self.arch.n_weights <= HESSIAN_HVP_MAX_N
            method = "hessian" if small and V.shape[0] >= HESSIAN_HVP_MIN_K else "rop"
        if method == "hessian":
            if self._hessian is None:
                self._hessian = self.hessian()
            return V @ self._hessian
        lead = np.broadcast_shapes(self.w.shape[:-1], V.shape[:-1])
        return np.broadcast_to(self.batch.hvp(V), (*lead, self.arch.n_weights))

    def hessian(self) -> np.ndarray:
        """Exact ∇²F (N, N) built from its structure: Gauss-Newton blocks plus the φ'' term.

        Structured for one or two layers (the paper's networks); deeper networks fall back
        to exact HVPs against the identity.
        """
        if self.w.ndim != 1:
            raise ValueError("hessian is for a single weight vector (N,), not a batch")
        L = len(self.Ws)
        X, s = self.X, self.c2
        if L == 1:
            O = self.Ws[0].shape[0]
            XX = X.T @ X
            return np.kron(np.eye(O), 0.5 * s * (XX + XX.T))
        if L > 2:
            H = self.hvp(np.eye(self.arch.n_weights), method="rop")
            return 0.5 * (H + H.T)
        W2 = self.Ws[1]
        O, Hd = W2.shape
        P, I = X.shape
        h, r = self.h[1], self.r
        if self.batch.sigmoid:  # φ' and φ'' of the hidden layer
            D = h * (1.0 - h)
            E = D * (1.0 - 2.0 * h)
        else:
            D, E = np.ones_like(h), np.zeros_like(h)
        n1 = Hd * I
        Z = (D[:, :, None] * X[:, None, :]).reshape(P, n1)  # ∂a-sensitivity rows: D_pj x_pi
        out = np.empty((n1 + O * Hd, n1 + O * Hd))
        # W1-W1: Gauss-Newton  s·(W2ᵀW2)[j,j'] Σ_p D_pj D_pj' x_pi x_pi'
        G = W2.T @ W2
        H11 = (Z.T @ Z).reshape(Hd, I, Hd, I)
        H11 *= (s * G)[:, None, :, None]
        # ... plus φ'' term, block diagonal in j: s·Σ_p (r W2)_pj E_pj x_pi x_pi'
        rE = (r @ W2) * E  # (P, Hd)
        B = np.matmul((rE.T[:, :, None] * X[None, :, :]).transpose(0, 2, 1), X)  # (Hd, I, I)
        jj = np.arange(Hd)
        H11[jj, :, jj, :] += s * B
        out[:n1, :n1] = H11.reshape(n1, n1)
        # W1-W2: Gauss-Newton  s·W2[k,j] Σ_p D_pj x_pi h_pj'  plus  δ_jj' s·Σ_p r_pk D_pj x_pi
        T = (Z.T @ h).reshape(Hd, I, Hd)  # [j, i, j']
        H12 = s * T[:, :, None, :] * W2.T[:, None, :, None]  # [j, i, k, j']
        S = (Z.T @ r).reshape(Hd, I, O)  # [j, i, k]
        H12[jj, :, :, jj] += s * S
        H12 = H12.reshape(n1, O * Hd)
        out[:n1, n1:] = H12
        out[n1:, :n1] = H12.T
        # W2-W2: s·δ_kk' (hᵀh)[j,j']
        out[n1:, n1:] = np.kron(np.eye(O), s * (h.T @ h))
        # BLAS products like ZᵀZ are symmetric only to rounding; return an exactly symmetric H
        out += out.T
        out *= 0.5
        return out


def forward(arch: Architecture, w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Network outputs (..., P, n_out) at weights w (..., N) on inputs X (P, n_in), zero biases."""
    X = check_inputs(arch, X)
    mats = unpack(np.asarray(w, dtype=np.float64), arch)
    out = activations(arch, mats, np.ascontiguousarray(X.T))[-1]
    return np.ascontiguousarray(np.swapaxes(out, -1, -2))


def _pass(arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> Pass:
    X = check_inputs(arch, X)
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or inf")
    Y = np.asarray(Y, dtype=np.float64)
    if not np.all(np.isfinite(Y)):
        raise ValueError("targets contain NaN or inf")
    return Pass(arch, w, X, Y)


def loss(arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """MSE (mean over samples × outputs) of the network at w (..., N) against targets Y."""
    return _pass(arch, w, X, Y).loss


def gradient(arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Exact gradient (..., N) of :func:`loss` by backpropagation."""
    return _pass(arch, w, X, Y).gradient()


def hessian(arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Exact Hessian (N, N) of :func:`loss` at one weight vector, built from its structure."""
    return _pass(arch, w, X, Y).hessian()


def hvp(
    arch: Architecture, w: np.ndarray, X: np.ndarray, Y: np.ndarray, V: np.ndarray, method: str = "auto"
) -> np.ndarray:
    """Exact Hessian-vector product(s) ∇²F(w)·v for V of shape (N,) or (k, N) (see Pass.hvp)."""
    V = np.asarray(V, dtype=np.float64)
    if V.ndim not in (1, 2) or V.shape[-1] != arch.n_weights:
        raise ValueError(f"V must have shape ({arch.n_weights},) or (k, {arch.n_weights}); got {V.shape}")
    return _pass(arch, w, X, Y).hvp(V, method)


class StudentTeacher(NamedTuple):
    """The paper's starting point: teacher weights, perturbed student weights, inputs."""

    teacher: np.ndarray  # (N,) float64
    student: np.ndarray  # (N,) float64, teacher × (1 + perturbation·z)
    inputs: np.ndarray  # (n_inputs, n_in) float64, N(0, 1)


def student_teacher(
    arch: Architecture, rng: np.random.Generator, n_inputs: int = 1000, perturbation: float = 1e-3
) -> StudentTeacher:
    """Teacher = fresh Xavier-uniform net; student = teacher × (1 + perturbation·z), z ~ N(0,1)
    one scalar; inputs X ~ N(0,1) of shape (n_inputs, n_in).  Draw order: teacher, z, X."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int | np.integer) or n_inputs < 1:
        raise ValueError(f"n_inputs must be a positive integer; got {n_inputs!r}")
    if not np.isfinite(perturbation):
        raise ValueError(f"perturbation must be finite; got {perturbation!r}")
    teacher = pack(init_weights(arch, rng, dtype=np.float64))
    z = rng.standard_normal()
    X = rng.standard_normal((int(n_inputs), arch.sizes[0]))
    return StudentTeacher(teacher, teacher * (1.0 + perturbation * z), X)
