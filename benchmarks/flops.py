"""Matrix-product FLOP counts of one network-step, derived from the architecture.

One step of the paper's protocol on S samples does, per layer l with weights (o_l, i_l):
forward ``W_l @ a_{l-1}`` (2·o·i·S), the weight gradient ``δ_l @ a_{l-1}ᵀ`` (2·o·i·S), and,
for every layer but the first, the back-propagated error ``W_lᵀ @ δ_l`` (2·o·i·S).  Hence
``FLOP = 2·S·(2·Σ o_l·i_l + Σ_{l>1} o_l·i_l)``.  Elementwise work (sigmoid, residuals) and
random numbers are not counted: the figure is the matrix work the GEMM roofline bounds.

It is the *nominal* work of the straightforward algorithm: an engine that does less (the
linear network's step through the count-weighted 12×12 input moment, say) gets an
*effective* rate from it, which may exceed what its own products achieve.

For the nonlinear network (12→20→10, N = 440, 200 weights past the first layer) and
S = 1000 this is 2.16 MFLOP, the figure counted by hand; for the linear network
(12→10, N = 120) it is 0.48 MFLOP.
"""

from __future__ import annotations

from plasticity.numerics.networks import Architecture


def flops_per_network_step(arch: Architecture, n_samples: int = 1000) -> int:
    """Matrix-product FLOP of one forward + backward pass of ``arch`` on ``n_samples`` samples."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    sizes = [o * i for o, i in arch.shapes]
    return 2 * n_samples * (2 * sum(sizes) + sum(sizes[1:]))
