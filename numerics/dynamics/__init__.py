"""The batched paper engine: many student-teacher networks buffeted by fluctuations at once.

Every network of a sweep is stacked into arrays and stepped in lockstep, in float32 as the
paper did, with float64 accumulation of norms and float64 exact measurements.  Each run owns
its random stream (:func:`run_generator`), so a run's trajectory depends only on (seed, run id),
never on which other runs share its batch, on chunking, on the number of worker threads or on
the executor.  (With ``SweepProtocol(inputs="shared")``, one input set for all runs, the first
layer is one matrix product over a chunk's networks, whose float32 rounding depends on the
batch: trajectories then agree across batchings to float32 rounding, not bit for bit.)

Modules, one idea each:

- :mod:`~numerics.dynamics.config` — :class:`SweepProtocol` (``steps`` 8000, ``n_inputs`` P 1000,
  ``batch_size`` S 1000, ``bootstrap``, ``record_every``, ``window`` (steady state = mean
  recorded error over the last ``window`` steps), ``measure_every`` (float64 Q / ‖∇F‖
  measurements inside that window; 0 = off), ``init_scale``, the settledness test's
  ``settle_window`` / ``settle_alpha`` / ``settle_batches``, ``extend_max`` (extra steps allowed
  to unsettled runs), ``inputs`` ("per_run" or "shared") and ``fluct_mask`` (None = Δε on
  every synapse; ``"layerK"`` = only the K-th weight matrix; or a boolean array over the packed
  weights: a masked ξ is drawn in full, so each run's stream is unchanged, zeroed outside the
  mask and normalised over it)) and
  :class:`Runs` (per-network ``eps_norm`` ‖Δε‖, ``ratio`` ‖Δc‖/‖Δε‖, ``noise_to_signal``
  γ₂/γ₁, ``run_id``).
- :mod:`~numerics.dynamics.draws` — :func:`run_generator`, the per-block draws of ν, ξ and
  bootstrap counts (``_Draws``, :data:`DRAW_BLOCK`), :func:`compensation_gammas`.
- :mod:`~numerics.dynamics.kernels` — the float32 step kernels (nonlinear and linear networks).
- :mod:`~numerics.dynamics.measure` — float64 :func:`measure_q`, :func:`batched_loss_grad`,
  :func:`batched_hvp` (all through :class:`plasticity.numerics.networks.BatchPass`), the window summary
  and :func:`predicted_ratio`.
- :mod:`~numerics.dynamics.engine` — :class:`State`, :func:`init_state`, :func:`advance`
  (staged runs; returns a :class:`Segment`), :func:`simulate` → :class:`SimResult` (``loss``,
  ``steady_loss``, ``grad_norm``, ``Q_c``, ``Q_eps``, ``settled``, ``relative_drift``,
  ``steps_run``, ``weights``, ``tracked``, ``c_norm`` and ``predicted_ratio`` =
  √(Q[Δε]/Q[Δc]) through ``plasticity.derivations.closed_forms``).
- :mod:`~numerics.dynamics.reference` — :func:`simulate_reference`, the straightforward
  per-network, per-step loop on the same draws (ground truth and the benchmark's baseline).
- :mod:`~numerics.dynamics.threads` — :func:`blas_single_threaded`.

Layouts: weights are packed row-major per layer (``plasticity.numerics.networks.pack``), inputs (B, i, P),
targets (B, o, P).
"""

from plasticity.numerics.dynamics.config import Runs, SweepProtocol
from plasticity.numerics.dynamics.draws import DRAW_BLOCK, _Draws, compensation_gammas, run_generator
from plasticity.numerics.dynamics.engine import (
    CHUNK,
    LINEAR_CHUNK_FACTOR,
    Segment,
    SimResult,
    State,
    advance,
    init_state,
    simulate,
)
from plasticity.numerics.dynamics.measure import batched_hvp, batched_loss_grad, measure_q, predicted_ratio
from plasticity.numerics.dynamics.reference import simulate_reference
from plasticity.numerics.dynamics.threads import blas_single_threaded

__all__ = [
    "CHUNK",
    "DRAW_BLOCK",
    "LINEAR_CHUNK_FACTOR",
    "SweepProtocol",
    "Runs",
    "Segment",
    "SimResult",
    "State",
    "_Draws",
    "advance",
    "batched_hvp",
    "batched_loss_grad",
    "blas_single_threaded",
    "compensation_gammas",
    "init_state",
    "measure_q",
    "predicted_ratio",
    "run_generator",
    "simulate",
    "simulate_reference",
]
