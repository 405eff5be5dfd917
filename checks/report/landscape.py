"""The report's section for a user's landscape (``landscape.json`` from `plasticity landscape`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from plasticity.checks.report.markup import _e, _fmt, _load, _notice, _num_class, _opening, _pill, _section

# --------------------------------------------------------------------------- landscape


def _section_landscape(out_dir: Path, command: str = "") -> str:
    doc, problem = _load(out_dir, "landscape.json", "landscape")
    head = (
        _opening("landscape", "Landscape check on a built-in example")
        + "<p>What <code>plasticity landscape</code> reports for a landscape a user brings: the "
        "curvature quantities at a point, the best ratio eq9a predicts for each compensation rule, "
        "the theory's claims evaluated there and, with <code>--simulate</code>, the simulated best "
        "ratios beside the predicted ones.</p>"
    )
    if command:
        head += f"<p>Command: <code>{_e(command)}</code></p>"
    if doc is None:
        return _section(head, problem)
    if not isinstance(doc, Mapping):
        return _section(head, _notice("landscape.json is not an object.", "bad"))
    quantities = [
        ("landscape", "source"),
        ("kind", "kind"),
        ("number of parameters N", "n_params"),
        ("F(w)", "loss"),
        ("‖∇F‖", "grad_norm"),
        ("Tr(∇²F)/N", "trace_over_n"),
        ("smallest eigenvalue λ_min", "lambda_min"),
        ("largest eigenvalue λ_max", "lambda_max"),
        ("training state", "training_state"),
    ]
    rows = "".join(
        f"<tr><th>{_e(label)}</th><td{_num_class(doc.get(k))}>{_fmt(doc.get(k))}</td></tr>"
        for label, k in quantities
        if k in doc
    )
    parts = [head, '<div class="two">', f'<table class="kv"><tbody>{rows}</tbody></table>']
    predicted = doc.get("predicted_ratio")
    if isinstance(predicted, Mapping):
        q_of = {
            "gradient": doc.get("q_gradient"),
            "newton": doc.get("q_newton"),
            "beeline": doc.get("q_beeline"),
            "zeroth_order": doc.get("q_zeroth_order"),
        }
        label = {rule: rule.replace("_", " ") for rule in predicted}
        label.update({"newton": "newton −(∇²F)⁻¹∇F", "beeline": "beeline w* − w"})
        # the noisy-gradient prediction is one entry of the noisy_gradient table: show its noise level
        for entry in doc.get("noisy_gradient") or []:
            if isinstance(entry, Mapping) and entry.get("predicted_ratio") == predicted.get("noisy_gradient"):
                q_of["noisy_gradient"] = entry.get("expected_Q")
                label["noisy_gradient"] = f"noisy gradient (γ₂/γ₁ = {_fmt(entry.get('noise_to_signal'))})"
        prow = "".join(
            f"<tr><td>{_e(label[rule])}</td><td class='num'>{_fmt(q_of.get(rule))}</td>"
            f"<td class='num pred'>{_fmt(v)}</td></tr>"
            for rule, v in predicted.items()
        )
        parts.append(
            '<table class="kv"><thead><tr><th>compensation rule</th><th>Q[Δc]</th>'
            "<th>predicted best ratio (eq9a)</th></tr></thead>"
            f"<tbody><tr><td>fluctuation E[Q[Δε]]</td><td class='num'>{_fmt(doc.get('q_eps'))}</td>"
            f"<td></td></tr>{prow}</tbody></table>"
        )
    parts.append("</div>")
    noisy = doc.get("noisy_gradient")
    if isinstance(noisy, list) and noisy and all(isinstance(r, Mapping) for r in noisy):
        nrow = "".join(
            f"<tr><td class='num'>{_fmt(r.get('noise_to_signal'))}</td><td class='num'>"
            f"{_fmt(r.get('expected_Q'))}</td><td class='num pred'>{_fmt(r.get('predicted_ratio'))}</td></tr>"
            for r in noisy
        )
        parts.append(
            "<h3>Noisy gradient compensation (si_noisy)</h3>"
            '<table class="kv"><thead><tr><th>noise-to-signal γ₂/γ₁</th><th>E[Q[Δc]]</th>'
            f"<th>predicted best ratio</th></tr></thead><tbody>{nrow}</tbody></table>"
        )
    claims = doc.get("claims")
    if isinstance(claims, list) and claims:
        crow = []
        for c in claims:
            if not isinstance(c, Mapping):
                continue
            holds, applies = c.get("holds"), c.get("applies", True)
            if holds is True:
                verdict = _pill("holds", "v-holds")
            elif holds is False and applies is False:
                verdict = _pill("fails (not a prediction here)", "v-cond")
            elif holds is False:
                verdict = _pill("does not hold", "v-counter")
            else:
                verdict = _pill("not evaluated", "v-cond")
            statement = f"<div class='cond'>{_e(c.get('statement'))}</div>" if c.get("statement") else ""
            crow.append(
                f"<tr><td><code>{_e(c.get('id'))}</code>{statement}</td><td>{verdict}</td>"
                f"<td>{_e(c.get('detail'))}</td></tr>"
            )
        parts.append(
            "<h3>Claims at this point</h3>"
            '<table class="lclaims"><thead><tr><th>claim</th><th>verdict</th><th>detail</th></tr></thead>'
            f"<tbody>{''.join(crow)}</tbody></table>"
        )
    parts.append(_landscape_simulation(doc.get("simulation")))
    parts.append("</section>")
    return "".join(parts)


def _landscape_simulation(sim: object) -> str:
    """The --simulate table: per rule, predicted vs simulated best ratios."""
    if not isinstance(sim, Mapping) or not isinstance(sim.get("rules"), Mapping):
        return ""
    rows = []
    for rule, r in sim["rules"].items():
        if not isinstance(r, Mapping):
            continue
        rows.append(
            f"<tr><td>{_e(str(rule).replace('_', ' '))}</td>"
            f"<td class='num pred'>{_fmt(r.get('predicted_ratio'))}</td>"
            f"<td class='num'>{_fmt(r.get('self_consistent_ratio'))}</td>"
            f"<td class='num'>{_fmt(r.get('grad_norm_minimiser'))}</td>"
            f"<td class='num'>{_fmt(r.get('loss_minimiser'))}</td></tr>"
        )
    what = ", ".join(
        f"{label} {_fmt(sim.get(k))}"
        for label, k in (
            ("‖Δε‖ =", "eps_norm"),
            ("steps", "steps"),
            ("repetitions", "reps"),
            ("steady-state window", "window"),
            ("seed", "seed"),
            ("noisy-gradient γ₂/γ₁", "noise_to_signal"),
        )
        if k in sim
    )
    return (
        "<h3>Simulated against predicted best ratios</h3>"
        f"<p class='small'>Fluctuation/compensation dynamics on this landscape: {what}; the simulated "
        "minimisers are points of the swept ratio grid.</p>"
        '<table class="kv"><thead><tr><th>rule</th><th>predicted (eq9a at the point)</th>'
        "<th>self-consistent eq9a (Q measured in the runs)</th><th>minimises gradient norm</th>"
        f"<th>minimises loss</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
