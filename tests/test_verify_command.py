"""`plasticity verify`: table, JSON, --only, exit codes."""

from __future__ import annotations

import json

import pytest

from plasticity.checks.claims import CLAIMS
from plasticity.checks.cli import main
from plasticity.checks.verify import render_table, run_claims, to_json

KEYS = {
    "id",
    "statement",
    "conditions",
    "verdict",
    "examples",
    "worst_margin",
    "tolerance",
    "evidence",
    "counterexample",
}


def test_verify_only_writes_table_and_json(tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "sub" / "verify.json"
    rc = main(
        ["verify", "--quiet", "--only", "eq9a_steady_state", "counterexample_indefinite", "--json", str(out)]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "claim" in text and "verdict" in text and "examples" in text and "worst margin" in text
    assert "eq9a_steady_state" in text and "holds under condition" in text
    assert "counterexample found" in text and "shrunk counterexample" in text
    data = json.loads(out.read_text())
    assert data["profile"] == "ci"
    assert [c["id"] for c in data["claims"]] == ["eq9a_steady_state", "counterexample_indefinite"]
    for c in data["claims"]:
        assert KEYS <= set(c)
    assert data["claims"][1]["verdict"] == "counterexample found"
    assert data["claims"][1]["counterexample"]


def test_failed_claim_gives_exit_1(monkeypatch, capsys) -> None:  # noqa: ANN001
    from plasticity.derivations import closed_forms

    original = closed_forms.steady_state_ratio
    monkeypatch.setattr(closed_forms, "steady_state_ratio", lambda qe, qc: original(qe, qc) ** 2)
    rc = main(["verify", "--quiet", "--only", "eq9a_steady_state"])
    assert rc == 1
    assert "FAILED" in capsys.readouterr().out


def test_unknown_claim_is_one_line_exit_2(capsys) -> None:  # noqa: ANN001
    rc = main(["verify", "--only", "eq99"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown claim id 'eq99'" in err and "Traceback" not in err


def test_unknown_profile_is_refused(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--profile", "fast"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_json_to_a_directory_is_a_clear_error(tmp_path, capsys) -> None:  # noqa: ANN001
    rc = main(["verify", "--quiet", "--only", "eq10_learning_raises", "--json", str(tmp_path)])
    assert rc == 2
    assert "is a directory" in capsys.readouterr().err


def test_list(capsys) -> None:  # noqa: ANN001
    assert main(["verify", "--list"]) == 0
    text = capsys.readouterr().out
    assert all(i in text for i in CLAIMS)


def test_run_claims_progress_and_render() -> None:
    lines: list[str] = []
    verdicts = run_claims("ci", ids=["eq10_learning_raises"], progress=lines.append)
    assert len(verdicts) == 1 and len(lines) == 2 and "eq10_learning_raises" in lines[-1]
    table = render_table(verdicts, profile="ci")
    assert table.splitlines()[0] == "profile: ci"
    assert to_json(verdicts, "ci")["claims"][0]["verdict"] == "holds under condition"
    with pytest.raises(ValueError, match="unknown claim id"):
        run_claims("ci", ids=["eq10_learning_raises", "bogus"])
