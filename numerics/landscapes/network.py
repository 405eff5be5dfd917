"""The student-teacher MSE landscape of the paper's networks, with exact derivatives."""

from __future__ import annotations

import numpy as np

from plasticity.numerics import networks
from plasticity.numerics.landscapes.base import check_batch, check_directions, check_point


class NetworkLandscape:
    """Student-teacher MSE of one of the paper's networks against a fixed teacher (exact).

    ``F(w) = mean over outputs × samples of (net(w, X) - net(w_teacher, X))²`` with zero
    biases; ``w_star`` is the teacher (F = 0 there).  Gradient, Hessian and HVP are exact,
    derived by hand in :mod:`plasticity.numerics.networks`; the forward pass at the last point is cached
    so repeated HVPs at one point cost only the R-operator passes.
    """

    def __init__(
        self, arch: networks.Architecture, teacher_weights: np.ndarray | list[np.ndarray], inputs: np.ndarray
    ) -> None:
        if isinstance(arch, str):
            arch = networks.architecture(arch)
        if not isinstance(arch, networks.Architecture):
            raise ValueError(f"arch must be an Architecture or a network name; got {type(arch).__name__}")
        self.arch = arch
        self.n = arch.n_weights
        if isinstance(teacher_weights, list | tuple):
            shapes = [np.shape(t) for t in teacher_weights]
            if shapes != list(arch.shapes):
                raise ValueError(
                    f"teacher weight matrices have shapes {shapes}; expected {list(arch.shapes)}"
                )
            teacher_weights = networks.pack([np.asarray(t, dtype=np.float64) for t in teacher_weights])
        self.teacher = check_point(teacher_weights, self.n, "teacher_weights")
        self.inputs = networks.check_inputs(arch, inputs)
        self.targets = networks.forward(arch, self.teacher, self.inputs)
        self._cache: tuple[np.ndarray, networks.Pass] | None = None

    @property
    def w_star(self) -> np.ndarray:
        return self.teacher.copy()

    def _pass(self, w: np.ndarray) -> networks.Pass:
        w = check_point(w, self.n)
        if self._cache is not None and np.array_equal(self._cache[0], w):
            return self._cache[1]
        p = networks.Pass(self.arch, w, self.inputs, self.targets)
        self._cache = (w.copy(), p)
        return p

    def loss(self, w: np.ndarray) -> float:
        return float(self._pass(w).loss)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self._pass(w).gradient()

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        p = self._pass(w)
        return p.hvp(check_directions(v, self.n))

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired HVPs: row i of the result is ∇²F(W[i]) V[i], vectorised."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        return networks.Pass(self.arch, W, self.inputs, self.targets).hvp(V)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return self._pass(w).hessian()

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        return networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets).loss

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets).gradient()

    def loss_grad_batch(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss_batch(W), grad_batch(W)) from one batched forward pass."""
        p = networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets)
        return p.loss, p.gradient()

    def __repr__(self) -> str:
        return f"NetworkLandscape({self.arch.name}, N={self.n}, {self.inputs.shape[0]} inputs)"
