"""Settings profiles for `plasticity verify`: how hard each claim is pushed.

A profile bundles the Hypothesis settings (examples per property, determinism) with the
numeric budgets the claims use (Monte Carlo samples, simulation steps and repetitions), so
one name ("ci", "dev", "thorough") sets the whole cost of a verification run.  Every
profile is deterministic: a fixed seed per claim and no example database, so the same profile
gives the same verdicts, examples and shrunk counterexamples on every run and every machine
with the same Hypothesis release.  (Where shrinking lands can change between releases; the
tests assert what makes a counterexample one, never where it lies.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import HealthCheck, Phase, Verbosity, settings

__all__ = ["Profile", "PROFILES", "get_profile", "hypothesis_settings"]


@dataclass(frozen=True)
class Profile:
    """How many examples, samples and simulation steps each claim gets under this name."""

    name: str
    #: Hypothesis examples per property claim
    max_examples: int
    #: Hypothesis examples for the counterexample searches (they stop at the first hit)
    search_examples: int
    #: Monte Carlo draws per example for sampled expectations (eq8, eq12, ...)
    mc_samples: int
    #: largest dimension drawn for random Hessians
    max_dim: int
    #: steps and repetitions of the quadratic fluctuation/compensation simulations
    sim_steps: int
    sim_reps: int
    #: averaging window (final steps) for steady-state statistics
    sim_window: int
    #: steps / repetitions for the paper's network engine (0 steps: claim uses its quick config)
    net_steps: int
    net_reps: int
    #: noise-to-signal ratios γ₂/γ₁ of the network noise sweep (the paper's figure 5: 0.1, 20, 50)
    net_noise_levels: tuple[float, ...] = (0.1, 1.0, 20.0)
    #: steps for the network's high-noise runs (≥ 5): their gradient part is ~1/noise of the step,
    #: so they take longer to reach steady state than net_steps
    net_noisy_steps: int = 2000
    #: Hypothesis seed of the claim being checked; :meth:`plasticity.checks.claims.Claim.check` sets it to
    #: the crc32 of the claim's id, so each claim's examples depend only on the claim and the
    #: profile, never on which claims ran before it
    seed: int = 0


PROFILES: dict[str, Profile] = {
    # ci: the whole registry in about a minute and a half on 2 shared cores
    "ci": Profile(
        "ci",
        max_examples=25,
        search_examples=300,
        mc_samples=4000,
        max_dim=10,
        sim_steps=1500,
        sim_reps=6,
        sim_window=500,
        net_steps=1200,
        net_reps=3,
        net_noise_levels=(0.1, 1.0, 20.0),
        net_noisy_steps=2000,
    ),
    "dev": Profile(
        "dev",
        max_examples=200,
        search_examples=1000,
        mc_samples=8000,
        max_dim=24,
        sim_steps=4000,
        sim_reps=12,
        sim_window=1500,
        net_steps=3000,
        net_reps=4,
        net_noise_levels=(0.1, 1.0, 20.0, 50.0),
        net_noisy_steps=5000,
    ),
    # thorough: thousands of examples per property
    "thorough": Profile(
        "thorough",
        max_examples=2000,
        search_examples=5000,
        mc_samples=20000,
        max_dim=48,
        sim_steps=8000,
        sim_reps=24,
        sim_window=3000,
        net_steps=8000,
        net_reps=6,
        net_noise_levels=(0.1, 1.0, 20.0, 50.0),
        net_noisy_steps=12000,
    ),
}


def get_profile(name: str | Profile) -> Profile:
    """The profile with this name (a :class:`Profile` passes through); unknown → ValueError."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}")
    return PROFILES[name]


def hypothesis_settings(
    profile: Profile,
    *,
    search: bool = False,
    max_examples: int | None = None,
    shrink: bool = True,
    derandomize: bool = True,
) -> settings:
    """Deterministic Hypothesis settings for one claim under ``profile``.

    ``search`` selects the (larger) budget of the counterexample searches.  No deadline (a
    claim's example may run a small simulation), no database, quiet; derandomized unless the
    caller pins an explicit seed instead (the claims do: one seed per claim id).
    """
    n = (
        max_examples
        if max_examples is not None
        else (profile.search_examples if search else profile.max_examples)
    )
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=n,
        derandomize=derandomize,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )


# registered so `pytest --hypothesis-profile=plasticity-ci` etc. can pick them up too
for _p in PROFILES.values():
    settings.register_profile(f"plasticity-{_p.name}", hypothesis_settings(_p))


def with_overrides(profile: Profile, **changes: int | tuple[float, ...]) -> Profile:
    """A copy of ``profile`` with some budgets changed (used by tests to stay small)."""
    return replace(profile, **changes)
