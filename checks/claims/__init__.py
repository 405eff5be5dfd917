"""The registry of the theory's claims, each checked by machine into a :class:`Verdict`.

A :class:`Claim` is one statement of the theory (eq8 matches Monte Carlo, Q[∇F] ≥ Tr/N for
equal projections, ...) with its conditions, what we expect of it ("holds", "holds under
condition", or "counterexample expected" for the claims that are not universal) and a
check.  Checks draw their examples with the Hypothesis strategies of
:mod:`checks.strategies`, evaluate the closed forms only through
:mod:`derivations.closed_forms` (never retyped here), compare them with an independent
numeric computation (Monte Carlo, numeric minimisation, root finding, simulation) and
report the worst margin over the examples with the tolerance and the reason for it.

Margins are dimensionless, with the allowance inside: for an equality,
``1 − |error| / tolerance``; for an inequality, its relative slack plus the rounding
allowance.  One rule, :func:`holds`, decides every claim: it holds at an example exactly
when the margin is finite and ≥ 0 (0 is the edge of the allowance).  A negative margin is
a violation, decided beyond the allowance, and Hypothesis shrinks it to a simpler example,
which the verdict carries.

The registry and the Hypothesis drivers live in :mod:`checks.claims.registry`; the checks
live in modules named for what they hold, imported here in document order, so the claims
register (and are listed and seeded) in the same order as ever.
"""

from checks.claims.helpers import EPS, Z_MC, cf, quad_Q, sphere
from checks.claims.registry import (
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

# the checks register themselves on import; this order is the claims' document order
# isort: off
from checks.claims import closed_forms  # noqa: E402
from checks.claims import inequalities  # noqa: E402
from checks.claims import counterexamples  # noqa: E402
from checks.claims import stationary  # noqa: E402
from checks.claims import product  # noqa: E402
from checks.claims import machinery  # noqa: E402
from checks.claims import simulation  # noqa: E402
from checks.claims import derived  # noqa: E402
# isort: on

from checks.claims.simulation import (  # noqa: E402
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
