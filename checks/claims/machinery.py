"""Claims that the verifier's own machinery can fail: it rejects statements known to be false.

A verdict of "holds" means something only if the same code would have said FAILED on a false
statement.  These claims feed the verdict rule, the Monte Carlo threshold, the rounding
allowance, the bootstrap and the steady-state test inputs whose right answer is known by
construction, and fail if any of them accepts what it must reject (or rejects what it must
accept).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from plasticity.checks.claims.helpers import within_rounding, within_standard_errors
from plasticity.checks.claims.registry import Outcome, check_property, claim, holds
from plasticity.checks.profiles import Profile

#: the false offset the Monte Carlo threshold must reject, in standard errors: Z_MC = 5 rejects
#: it by a wide margin, a threshold loosened to 15 or more would accept it
FALSE_OFFSET_SE = 15.0
#: the relative error the rounding allowance must reject at N = 10, κ = 10 (the allowance is
#: 100·N·κ·ε ≈ 2e-12 there): one part in 10⁶ is a real discrepancy, not rounding
FALSE_RELATIVE_ERROR = 1e-6


@claim(
    "verdict_machinery",
    "The verifier rejects what it must: a margin just below 0 fails, a non-finite margin fails, a "
    "sample mean 15 standard errors off is outside the Monte Carlo tolerance, a 10⁻⁶ relative error "
    "is outside the rounding allowance -- and the true counterparts of each are accepted",
    conditions=("ground truth: statements false (or true) by construction",),
    tags=("machinery",),
)
def _verdict_machinery(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed)
    checks: dict[str, bool] = {}
    # the one rule, through the property driver
    below = check_property(st.just(-1e-9), lambda m: (m, {}), profile, tolerance="t", max_examples=1)
    at_edge = check_property(st.just(0.0), lambda m: (m, {}), profile, tolerance="t", max_examples=1)
    nan = check_property(st.just(math.nan), lambda m: (m, {}), profile, tolerance="t", max_examples=1)
    checks["margin_below_zero_fails"] = not below.ok
    checks["margin_zero_holds"] = at_edge.ok
    checks["non_finite_margin_fails"] = not nan.ok and not holds(math.inf) and not holds(math.nan)
    # Monte Carlo: 10⁴ standard normals, compared with the true mean 0 and a false one
    x = rng.standard_normal(10_000)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    checks["true_mean_accepted"] = holds(within_standard_errors(float(x.mean()), se))
    false_mean = -FALSE_OFFSET_SE * se
    checks["false_mean_rejected"] = not holds(within_standard_errors(float(x.mean()) - false_mean, se))
    # rounding: an identity off by 1e-6 relative is rejected, one off by one ulp accepted
    checks["real_discrepancy_rejected"] = not holds(within_rounding(FALSE_RELATIVE_ERROR, 1.0, 10, 10.0))
    checks["ulp_accepted"] = holds(within_rounding(float(np.finfo(float).eps), 1.0, 10, 10.0))
    failed = [k for k, ok in checks.items() if not ok]
    # ok is decided from the checks themselves, not through the rule under test (a broken rule
    # could accept this outcome's own negative margin); Claim.check then fails the outcome if
    # the rule and ok disagree
    margin = 1.0 if not failed else -1.0
    return Outcome(
        ok=not failed,
        examples=len(checks),
        worst_margin=margin,
        tolerance=f"false offset {FALSE_OFFSET_SE:g} s.e.; false relative error {FALSE_RELATIVE_ERROR:g}",
        evidence={"checks": checks, "failed": failed},
    )


@claim(
    "bootstrap_resamples",
    "plasticity.numerics.ratios.bootstrap_se resamples repetitions with replacement: its resamples "
    "repeat some "
    "repetitions and miss others, and its standard error of a mean matches the exact one",
    conditions=("ground truth: the mean of k draws with replacement from k values has s.d. σ/√k",),
    tags=("machinery", "product"),
)
def _bootstrap(profile: Profile) -> Outcome:
    from plasticity.numerics.ratios import bootstrap_se

    reps, resamples = 8, 2000
    rng = np.random.default_rng(profile.seed)
    seen: list[float] = []

    def first_point(ratios: np.ndarray, curve: np.ndarray) -> float:
        seen.append(float(curve[0]))
        return float(curve[0])

    # column j holds 9^j: a resample's mean then encodes how often each repetition was drawn
    # (counts ≤ 8 < 9), and the full set, drawn once each, is the mean of Σ 9^j
    coded = np.tile(9.0 ** np.arange(reps), (3, 1))
    bootstrap_se(first_point, np.arange(3.0), coded, rng, resamples)
    full_set = float(np.sum(9.0 ** np.arange(reps))) / reps
    # with replacement a resample is the full set with probability k!/k^k = 0.0024 (k = 8);
    # without replacement it always is
    differs = sum(v != full_set for v in seen) / len(seen)
    m_dup = (differs - 0.99) / 0.01
    # the standard error of a mean: values 0..7 have population s.d. √((k²−1)/12), their
    # resampled mean s.d. that/√k; the s.d. of 2000 resampled means is itself known to within
    # √(κ−1)/(2√2000) relative (κ ≈ 3 for a mean of 8 draws)
    values = np.tile(np.arange(reps, dtype=float), (3, 1))
    se = bootstrap_se(first_point, np.arange(3.0), values, rng, resamples)
    exact = math.sqrt((reps**2 - 1) / 12 / reps)
    m_se = within_standard_errors(se - exact, exact * math.sqrt(2 / (4 * resamples)))
    margins = {"stderr": m_se, "resamples_repeat": m_dup}
    worst = min(margins.values())
    return Outcome(
        ok=holds(worst),
        examples=resamples,
        worst_margin=worst,
        tolerance="Z_MC standard errors of the bootstrap s.d.; ≥ 99% of resamples not a permutation",
        evidence={"margins": margins, "bootstrap_se": se, "exact_se": exact, "share_not_full_set": differs},
    )


@claim(
    "steady_state_detection",
    "numerics.steady.settled_test calls a run settled once its last two windows agree: a series that "
    "decays and then fluctuates about a constant is settled, one still drifting is not, even "
    "when the drift is only a few standard errors per window",
    conditions=("ground truth: AR(1) series with a known trend, built by construction",),
    tags=("machinery", "product"),
)
def _steady(profile: Profile) -> Outcome:
    from plasticity.numerics.steady import settled_test

    rng = np.random.default_rng(profile.seed)
    b, t, window = 200, 4000, 500
    noise = np.zeros((b, t))
    e = rng.standard_normal((b, t))
    for k in range(1, t):
        noise[:, k] = 0.9 * noise[:, k - 1] + e[:, k]
    steps = np.arange(t)
    settled = 5.0 * np.exp(-steps / 100.0) + noise  # transient over by step ~1500
    drifting = 0.02 * steps + noise  # still rising: 10 per window, ~15 s.e. of a window mean
    # a moderate drift, 3 per window (≈ 5 standard errors of the difference of two window
    # means, σ ≈ 0.63 for this AR(1)): a t test at α = 1% rejects it in ~90% of runs
    moderate = 0.006 * steps + noise
    ok_settled = float(settled_test(settled, window).settled.mean())
    ok_drift = float(settled_test(drifting, window).settled.mean())
    ok_moderate = float(settled_test(moderate, window).settled.mean())
    # α = 0.01 per run: with 200 runs at most a few false alarms (binomial, 5 s.d. ≈ 7)
    margins = {
        "settled_accepted": (ok_settled - 0.95) / 0.05,
        "drift_rejected": (0.05 - ok_drift) / 0.05,
        # at most a quarter of the moderately drifting runs may pass (binomial s.d. ≈ 0.02)
        "moderate_drift_rejected": (0.25 - ok_moderate) / 0.25,
    }
    worst = min(margins.values())
    return Outcome(
        ok=holds(worst),
        examples=2 * b,
        worst_margin=worst,
        tolerance="≥ 95% of stationary runs settled (α = 1%); ≤ 5% of drifting runs",
        evidence={
            "margins": margins,
            "share_settled": ok_settled,
            "share_drifting_settled": ok_drift,
            "share_moderately_drifting_settled": ok_moderate,
        },
    )
