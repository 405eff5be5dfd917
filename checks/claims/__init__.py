"""The registry of the theory's claims, each checked by machine into a :class:`Verdict`.

A :class:`Claim` is one statement of the theory (eq8 matches Monte Carlo, Q[∇F] ≥ Tr/N for
equal projections, ...) with its conditions, what we expect of it ("holds", "holds under
condition", or "counterexample expected" for the claims that are not universal) and a
check.  Checks draw their examples with the Hypothesis strategies of
:mod:`plasticity.checks.strategies`, evaluate the closed forms only through
:mod:`plasticity.derivations.closed_forms` (never retyped here), compare them with an independent
numeric computation (Monte Carlo, numeric minimisation, root finding, simulation) and
report the worst margin over the examples with the tolerance and the reason for it.

Margins are dimensionless, with the allowance inside: for an equality,
``1 − |error| / tolerance``; for an inequality, its relative slack plus the rounding
allowance.  One rule, :func:`holds`, decides every claim: it holds at an example exactly
when the margin is finite and ≥ 0 (0 is the edge of the allowance).  A negative margin is
a violation, decided beyond the allowance, and Hypothesis shrinks it to a simpler example,
which the verdict carries.

The registry and the Hypothesis drivers live in :mod:`plasticity.checks.claims.registry`; the checks
live in modules named for what they hold, imported here in document order, so the claims
register (and are listed and seeded) in the same order as ever.
"""

from plasticity.checks.claims.helpers import EPS, Z_MC, cf, quad_Q, sphere
from plasticity.checks.claims.registry import (
    CLAIMS,
    EXPECTATIONS,
    VERDICTS,
    Claim,
    Outcome,
    Verdict,
    check_property,
    claim,
    get_claim,
    holds,
    ids,
    search_counterexample,
)

# the checks register themselves on import (their order is set by ORDER below)
# isort: off
from plasticity.checks.claims import closed_forms  # noqa: E402
from plasticity.checks.claims import inequalities  # noqa: E402
from plasticity.checks.claims import counterexamples  # noqa: E402
from plasticity.checks.claims import stationary  # noqa: E402
from plasticity.checks.claims import product  # noqa: E402
from plasticity.checks.claims import machinery  # noqa: E402
from plasticity.checks.claims import simulation  # noqa: E402
from plasticity.checks.claims import derived  # noqa: E402
# isort: on

#: the claims in document order: closed forms against the raw model, inequalities, expected
#: counterexamples, the product's numerics, the verifier's own machinery, then simulations
ORDER: tuple[str, ...] = (
    "eq8_monte_carlo",
    "var_dF_monte_carlo",
    "eq6_numeric_minimum",
    "eq9a_steady_state",
    "eq10_learning_raises",
    "eq12_isotropic_Q",
    "eq13_quadratic_gradient",
    "eq14_equal_projections",
    "ordering_condition",
    "newton_independent",
    "zeroth_order",
    "noisy_interpolation",
    "noisy_large_n",
    "counterexample_flat_projections",
    "counterexample_indefinite",
    "counterexample_beyond_pairwise",
    "lyapunov_exact",
    "curvature_numerics",
    "rules_numerics",
    "landscapes_numerics",
    "matfree_numerics",
    "experiment_protocol",
    "network_curvature",
    "engine_kernels",
    "verdict_machinery",
    "bootstrap_resamples",
    "steady_state_detection",
    "sim_quadratic_theory",
    "sim_network_theory",
    "confined_fluctuations",
    "sim_confined_fluctuations",
    "sim_network_noise",
    "steady_positivity_minimiser",
    "independent_orientation_monte_carlo",
    "linear_beeline_newton",
)
if set(ORDER) != set(CLAIMS) or len(ORDER) != len(CLAIMS):
    raise RuntimeError(
        f"claims registered but not in ORDER: {sorted(set(CLAIMS) - set(ORDER))}; "
        f"in ORDER but not registered: {sorted(set(ORDER) - set(CLAIMS))}"
    )
_ordered = {claim_id: CLAIMS[claim_id] for claim_id in ORDER}
CLAIMS.clear()
CLAIMS.update(_ordered)

from plasticity.checks.claims.simulation import (  # noqa: E402
    NETWORK_CONFINED_RATIOS,
    NETWORK_EPS,
    NETWORK_N,
    NETWORK_NOISY_RATIOS,
    NETWORK_RATIOS,
    NETWORK_SEED,
    _network_sweep,
    orthogonal_eigvecs,
)

__all__ = [
    "CLAIMS",
    "EPS",
    "EXPECTATIONS",
    "NETWORK_CONFINED_RATIOS",
    "NETWORK_EPS",
    "NETWORK_N",
    "NETWORK_NOISY_RATIOS",
    "NETWORK_RATIOS",
    "NETWORK_SEED",
    "ORDER",
    "VERDICTS",
    "Z_MC",
    "Claim",
    "Outcome",
    "Verdict",
    "_network_sweep",
    "cf",
    "check_property",
    "claim",
    "closed_forms",
    "counterexamples",
    "derived",
    "get_claim",
    "holds",
    "ids",
    "inequalities",
    "machinery",
    "orthogonal_eigvecs",
    "product",
    "quad_Q",
    "search_counterexample",
    "simulation",
    "sphere",
    "stationary",
]
