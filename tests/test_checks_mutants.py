"""The mutation harness that measures `plasticity verify`: the catalogue applies to today's
source, and a closed-form chain rebuilt with a wrong coefficient turns verify red."""

from __future__ import annotations

import pytest

from plasticity.checks.mutants import (
    CATALOGUE,
    KINDS,
    MutantResult,
    MutationReport,
    check_catalogue,
    render_report,
    run_one,
)


def test_every_mutant_applies_exactly_once() -> None:
    assert check_catalogue() == []
    assert len(CATALOGUE) >= 30
    assert {m.kind for m in CATALOGUE} == set(KINDS)  # every kind of bug is represented


def test_a_stale_mutant_is_reported(tmp_path) -> None:  # noqa: ANN001
    from plasticity.checks.mutants import Mutant

    (tmp_path / "numerics").mkdir()
    (tmp_path / "numerics" / "x.py").write_text("a = 1\na = 1\n")
    twice = Mutant("twice", "numerics/x.py", "a = 1", "a = 2", "coefficient", "t")
    missing = Mutant("missing", "numerics/y.py", "a", "b", "coefficient", "t")
    problems = check_catalogue([twice, missing], root=tmp_path)
    assert any("2 times" in p for p in problems) and any("no file" in p for p in problems)


def test_a_chain_rebuilt_with_a_wrong_coefficient_goes_red() -> None:
    # eq2 loses its ½ and every closed form downstream (eq8, eq6, eq9a) re-derives from it
    # consistently in a copy of the source; eq6, checked against the raw model's numeric
    # minimiser, fails.  eq9a is truly unchanged: a common factor on both curvature terms of
    # eq8 cancels from √(Q[Δε]/Q[Δc]), so its claim must keep holding.
    only = ["eq6_numeric_minimum", "eq9a_steady_state"]
    control = run_one(None, only=only)
    assert control.status == "survived", control
    mutant = next(m for m in CATALOGUE if m.id == "eq2_half_dropped")
    result = run_one(mutant, only=only)
    assert result.killed and result.status == "killed", result
    assert result.failed_claims == ("eq6_numeric_minimum",)


def test_report_lists_survivors_first_with_the_kill_rate() -> None:
    results = (
        MutantResult("a", "sign", True, "killed", ("eq8_monte_carlo",), 1.0),
        MutantResult("b", "norm", False, "survived", (), 1.0),
    )
    report = MutationReport("ci", results, 10.0)
    assert report.kill_rate == pytest.approx(0.5) and [r.id for r in report.survivors] == ["b"]
    text = render_report(report)
    assert "1 of 2 mutants killed (kill rate 50%)" in text
    assert text.index("b ") < text.index("a ")
    assert report.to_json()["kill_rate"] == 0.5


def test_verify_mutants_rejects_unknown_ids_in_one_line(capsys) -> None:  # noqa: ANN001
    from plasticity.checks.cli import main

    assert main(["verify", "--mutants", "--only", "no_such_mutant"]) == 2
    err = capsys.readouterr().err
    assert "unknown mutant id(s): no_such_mutant" in err and "Traceback" not in err
