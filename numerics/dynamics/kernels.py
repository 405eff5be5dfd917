"""The float32 step kernels: batch error and gradient of one step for a chunk of networks.

A fast-path specialisation of the exact float64 maths in :class:`plasticity.numerics.networks.BatchPass`
(tested against it to float32 rounding).  Hidden layers are held as t = tanh(a/2)
(σ = (1 + t)/2), which is exact and saves passes over the largest arrays.  The linear network
(no hidden layer, zero biases) needs no forward pass at all: its residual is (W − W_T) x, so
each step's batch error and gradient come from the count-weighted input second moment
C = Σ_s c_s x_s x_sᵀ (12×12), made for a whole draw block by one batched product of the
block's counts with the precomputed distinct entries of x_s x_sᵀ (``State.moments``).
"""

from __future__ import annotations

import numpy as np

from plasticity.numerics.networks import Architecture


class Work:
    """Preallocated float32 work arrays for a chunk of up to ``c`` networks and ``p`` samples.

    Hidden layers are held as t = tanh(a/2) (σ(a) = (1 + t)/2) with an extra constant row of
    ones, so the next layer's product absorbs the +1/2 and σ'(a) = (1 − t²)/4 needs no σ.  The
    buffers are flat; :meth:`views` cuts contiguous (c, ·, k) arrays for c networks, k samples.
    """

    def __init__(self, arch: Architecture, c: int, p: int) -> None:
        sig = arch.hidden_activation == "sigmoid"
        self.hidden = arch.sizes[1:-1]
        self.o, self.i = arch.sizes[-1], arch.sizes[0]
        self.hid = [np.empty(c * (s + 1) * p, np.float32) for s in self.hidden]
        self.hid_sq = [np.empty(c * s * p, np.float32) for s in self.hidden]
        self.back = [np.empty(c * s * p, np.float32) for s in self.hidden]
        self.out = np.empty(c * self.o * p, np.float32)
        self.d = np.empty(c * self.o * p, np.float32)
        # weight gradients computed transposed, (inputs+1) × outputs per network: the product
        # [t; 1] @ dᵀ ran 1.2-1.3× faster than d @ [t; 1]ᵀ here (one thread, 24 networks)
        self.gaug = [np.empty((c, i + 1, o), np.float32) for o, i in arch.shapes[1:]]
        self.g0t = np.empty((c, arch.sizes[0], arch.sizes[1]), np.float32)
        if not sig and self.hidden:
            raise ValueError("hidden layers without a sigmoid are not supported by the batched engine")

    def views(self, c: int, k: int) -> dict:
        """Contiguous views for ``c`` networks on ``k`` samples (the hidden ones-rows set to 1)."""

        def cut(bufs: list[np.ndarray], extra: int) -> list[np.ndarray]:
            sizes = zip(bufs, self.hidden, strict=True)
            return [b[: c * (s + extra) * k].reshape(c, s + extra, k) for b, s in sizes]

        hid = cut(self.hid, 1)
        for h in hid:
            h[:, -1, :] = 1.0
        return {
            "hid": hid,
            "hid_t": [h[:, :-1] for h in hid],
            "hid_sq": cut(self.hid_sq, 0),
            "back": cut(self.back, 0),
            "out": self.out[: c * self.o * k].reshape(c, self.o, k),
            "d": self.d[: c * self.o * k].reshape(c, self.o, k),
            "gaug": [g[:c] for g in self.gaug],
            "g0t": self.g0t[:c],
        }


def nonlinear_loss_grad(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | np.float32,
    wmats: list[np.ndarray],
    gmats: list[np.ndarray],
    v: dict,
) -> np.ndarray:
    """Batch error (float64) of one step on inputs x (c, i, k) and targets y (c, o, k), each
    sample weighted by ``weight`` (c, k) = 2·count/denom (or a scalar); the float32 gradient is
    written into ``gmats``.  ``v``: the work views of :meth:`Work.views` for (c, k).

    Inputs shared by the c networks, x (i, k), make the first layer's forward product and its
    weight gradient each one matrix product, (c·h × i) @ (i × k) and (c·h × k) @ (k × i)."""
    c = y.shape[0]
    shared = x.ndim == 2
    nl = len(wmats)
    hid, hid_t, hid_sq, back = v["hid"], v["hid_t"], v["hid_sq"], v["back"]
    out, d, gaug = v["out"], v["d"], v["gaug"]
    # forward: layer l maps its input representation s_l (X, or [t; 1]) with k_l·A_l
    s_in = x
    for layer in range(nl):
        wl = wmats[layer]
        if layer == 0:
            a_mat = wl
        else:  # σ = (t + 1)/2  ⇒  W σ = [W/2, W·1/2] @ [t; 1]
            a_mat = np.concatenate([wl, wl.sum(axis=2, keepdims=True)], axis=2)
            a_mat *= np.float32(0.5)
        if layer < nl - 1:  # hidden: store t = tanh(a/2)
            if layer == 0 and shared:  # one product for all networks, into a contiguous scratch
                h0 = a_mat.shape[1]
                scratch = hid_sq[0]
                np.matmul((a_mat * np.float32(0.5)).reshape(c * h0, -1), x, out=scratch.reshape(c * h0, -1))
                np.tanh(scratch, out=hid_t[0])
            else:
                np.matmul(a_mat * np.float32(0.5), s_in, out=hid_t[layer])
                np.tanh(hid_t[layer], out=hid_t[layer])
            s_in = hid[layer]
        else:
            np.matmul(a_mat, s_in, out=out)
    np.subtract(out, y, out=out)  # residual r
    if np.ndim(weight):
        np.multiply(out, weight[:, None, :], out=d)
    else:
        np.multiply(out, weight, out=d)
    # Σ r·d = 2·loss (d = 2 c r / denom); a BLAS dot per network
    loss = 0.5 * np.matmul(out.reshape(c, 1, -1), d.reshape(c, -1, 1))[:, 0, 0].astype(np.float64)
    # backward
    dl = d
    for layer in range(nl - 1, -1, -1):
        if layer == 0 and shared:
            g0 = gmats[0]
            g0[...] = (dl.reshape(c * g0.shape[1], -1) @ x.T).reshape(g0.shape)
        elif layer == 0:  # (X dᵀ)ᵀ: the transposed product is the faster one
            g0t = v["g0t"]
            np.matmul(x, np.swapaxes(dl, 1, 2), out=g0t)
            np.copyto(gmats[0], np.swapaxes(g0t, 1, 2))
        else:  # ([t; 1] dᵀ)ᵀ, then the ones-row's column folded in: W σ = [W/2, W·1/2] @ [t; 1]
            ga = gaug[layer - 1]
            np.matmul(hid[layer - 1], np.swapaxes(dl, 1, 2), out=ga)
            np.add(np.swapaxes(ga[:, :-1, :], 1, 2), np.swapaxes(ga[:, -1:, :], 1, 2), out=gmats[layer])
            gmats[layer] *= np.float32(0.5)
            # dL/da = (W/4)ᵀ d ⊙ (1 − t²)
            bk = back[layer - 1]
            np.matmul(np.swapaxes(wmats[layer] * np.float32(0.25), 1, 2), dl, out=bk)
            tl = hid_t[layer - 1]
            sq = hid_sq[layer - 1]
            np.multiply(tl, tl, out=sq)
            np.subtract(np.float32(1.0), sq, out=sq)
            bk *= sq
            dl = bk
    return loss


def linear_moments(moments: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    """Per network and step the weighted input second moment C = Σ_s c_s x_s x_sᵀ, (c, m, i, i) float32.

    A linear network with zero biases has residual r_s = (W − W_T) x_s, so its batch error and
    gradient need only C: ``moments`` holds the distinct entries of x_s x_sᵀ (State.moments), and
    one batched product with the block's bootstrap counts (or the plain sum for full batches)
    gives C for every step of the block.  Shared inputs, ``moments`` (i(i+1)/2, P), make it one
    product for all networks and steps; without bootstrap counts the result then has one row
    (c = 1) that broadcasts over the networks.
    """
    k = moments.shape[-2]
    i = int(round((np.sqrt(8 * k + 1) - 1) / 2))
    iu, ju = np.triu_indices(i)
    if moments.ndim == 2:  # shared inputs
        if counts is None:
            cu = moments.sum(axis=1, dtype=np.float32)[None, None, :]  # (1, 1, k)
        else:
            m, c, p = counts.shape
            cu = (counts.reshape(m * c, p) @ moments.T).reshape(m, c, k).transpose(1, 0, 2)  # (c, m, k)
    elif counts is None:
        cu = np.swapaxes(moments.sum(axis=2, dtype=np.float32)[:, :, None], 1, 2)  # (c, 1, k)
    else:
        cu = np.swapaxes(np.matmul(moments, np.swapaxes(counts, 0, 1).transpose(0, 2, 1)), 1, 2)  # (c, m, k)
    cov = np.empty(cu.shape[:2] + (i, i), np.float32)
    cov[:, :, iu, ju] = cu
    cov[:, :, ju, iu] = cu
    return cov


def linear_loss_grad(
    w: np.ndarray, teacher: np.ndarray, cov: np.ndarray, t: int, full_weight: np.float32, grad: np.ndarray
) -> np.ndarray:
    """Batch error Σ_s c_s ‖(W − W_T) x_s‖²/denom (float64); gradient 2 (W − W_T) C/denom into ``grad``."""
    c = w.shape[0]
    i = cov.shape[-1]
    delta = (w - teacher).reshape(c, -1, i)
    g = grad.reshape(c, -1, i)
    np.matmul(delta, cov[:, min(t, cov.shape[1] - 1)], out=g)
    loss = np.einsum("cn,cn->c", delta.reshape(c, -1), grad, dtype=np.float64) * (0.5 * float(full_weight))
    g *= full_weight
    return loss
