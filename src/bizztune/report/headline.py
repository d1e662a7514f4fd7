"""The Decision in words and small tables, for the report's first screen and the console.

    d = Decision.from_dict(summary["decision"])
    headline(d)             # one to three short sentences: a shortfall first, then what to run
    console_lines(d)        # at most six lines for the end of `bizztune run`
    console_table(d)        # option, joint % on the decision and confirmation sets, USD / 1,000
    options_table(d)        # the same as a Markdown table, with the verdict
    rule_section(d)         # how the choice was made: every comparison, its p and verdict

Nothing here computes a choice: the Decision (``bizztune.eval.decision``) is the answer, this
module only says it. Every sentence stays under 400 characters, so no paragraph of the first
screen or of the console is longer.
"""

from __future__ import annotations

from collections.abc import Sequence

from bizztune.eval.decision import Decision, Option, Paired, SetInfo, Shortfall
from bizztune.eval.inference import verdict_cell
from bizztune.eval.tables import md_header, pct

Section = tuple[str, str, str, str]


def usd(x: float) -> str:
    if x != x or x == float("inf"):
        return "n/a"
    return f"{x:,.4f}" if abs(x) < 0.01 else f"{x:,.3f}" if abs(x) < 1 else f"{x:,.2f}"


def pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _acc(o: Option, set_name: str, ci: bool = True, unit: str = "%") -> str:
    s = o.scores.get(set_name)
    if s is None:
        return "n/a"
    return f"{pct(s.accuracy)}{unit}" + (f" [{pct(s.lo)}, {pct(s.hi)}]" if ci else "")


def shortfall_sentence(d: Decision, s: Shortfall) -> str:
    """A set too small to separate the options, with N and how many more tickets to label."""
    need = (
        f"about {s.needed:,} would (the planner's N, power 0.8)" if s.needed else "no N is enough"
    )
    more = f"; label about {s.more:,} more" if s.needed else ""
    if s.role == "decide":
        return (
            f"Too few tickets to choose: {s.set_name} has {s.n:,}, too few to tell "
            f"{_names(s.options)} apart; {need}{more}. Until then the cheapest of them is run."
        )
    return (
        f"Too few tickets to confirm: {s.set_name} has {s.n:,}, too few to tell "
        f"{_names(s.options)} apart there; {need}{more}."
    )


def run_sentence(d: Decision) -> str:
    """What to run, how often it is fully right where it is reported, what it costs."""
    c, on = d.chosen, d.reported_on
    where = f"{on.name} ({on.what})"
    if d.confirm is not None:
        where = f"{on.name} ({on.what} it was not chosen on)"
    return (
        f"Run {c.name}: fully right on {_acc(c, on.name)} of {where}, at "
        f"{usd(c.usd_per_1000)} USD per 1,000 tickets ({d.volume:,} a month)."
    )


def beats_sentence(d: Decision) -> str:
    """What the chosen option is shown better than, where it is reported."""
    on = d.reported_on.name
    beaten = d.beats()
    if not beaten:
        return f"On {on} it is not shown better than any other option."
    shown = [f"{o.name} ({_acc(o, on, ci=False)})" for o in beaten[:3]]
    rest = len(beaten) - len(shown)
    tail = f" and {rest} more" if rest else ""
    return f"It is shown better there than {', '.join(shown)}{tail}."


def headline(d: Decision) -> list[str]:
    """The first screen's sentences: any shortfall first, then what to run and what it beats."""
    out = [shortfall_sentence(d, s) for s in d.shortfalls]
    return [*out, run_sentence(d), beats_sentence(d)]


def sets_line(d: Decision) -> str:
    """Which set chose, which confirmed: names, sizes, what they are."""

    def desc(s: SetInfo) -> str:
        n = d.chosen.scores[s.name].n if s.name in d.chosen.scores else 0
        return f"{s.name} ({n:,}: {s.what})"

    line = f"Decision: chosen on {desc(d.decide)}"
    if d.confirm is not None:
        line += f", confirmed on {desc(d.confirm)}"
    return line + "."


def checks_line(d: Decision) -> str | None:
    """The chosen option and the one most accurate there on each further set: a check."""
    parts = []
    for s in d.checks:
        scored = [o for o in d.options if s.name in o.scores]
        if not scored or s.name not in d.chosen.scores:
            continue
        top = max(scored, key=lambda o: o.scores[s.name].accuracy)
        part = f"{d.chosen.name} {_acc(d.chosen, s.name, ci=False)}"
        if top.key != d.chosen_key:
            part += f", {top.name} {_acc(top, s.name, ci=False)}"
        parts.append(f"on {s.name} ({s.what}, a check, not the decision): {part}")
    return ("Fully right " + "; ".join(parts) + ".") if parts else None


def console_lines(d: Decision) -> list[str]:
    """At most six lines: the sets, any shortfall, what to run, what it beats, the checks."""
    lines = [*(shortfall_sentence(d, s) for s in d.shortfalls), sets_line(d)]
    lines += [run_sentence(d), beats_sentence(d)]
    check = checks_line(d)
    if check and len(lines) < 6:
        lines.append(check)
    return lines[:6]


def console_table(d: Decision) -> tuple[list[str], list[list[str]]]:
    """The compact table under the console's lines: header and rows, cheapest first."""
    head = ["option", f"{d.decide.name} (chosen on)"]
    if d.confirm is not None:
        head.append(f"{d.confirm.name} (confirmed on)")
    head.append("USD per 1,000")
    rows = []
    for o in d.options:
        name = f"{o.name} (chosen)" if o.key == d.chosen_key else o.name
        cells = [name, _acc(o, d.decide.name, ci=False, unit="")]
        if d.confirm is not None:
            cells.append(_acc(o, d.confirm.name, ci=False, unit=""))
        rows.append([*cells, usd(o.usd_per_1000)])
    return head, rows


def _verdict(d: Decision, o: Option) -> str:
    best = o.key == d.best_key
    v = "most accurate" if best else o.vs_best.verdict if o.vs_best else "n/a"
    return f"{v}, chosen" if o.key == d.chosen_key else v


def options_table(d: Decision) -> str:
    """The first screen's table: every option, cheapest first."""
    head = ["Option", f"Joint % on {d.decide.name} (chosen on) [95% CI]"]
    if d.confirm is not None:
        head.append(f"Joint % on {d.confirm.name} (confirmed on) [95% CI]")
    head += ["USD per 1,000", f"vs most accurate on {d.decide.name}"]
    lines = md_header(head)
    for o in d.options:
        cells = [o.name, _acc(o, d.decide.name, unit="")]
        if d.confirm is not None:
            cells.append(_acc(o, d.confirm.name, unit=""))
        cells += [usd(o.usd_per_1000), _verdict(d, o)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(t: Paired | None) -> list[str]:
    if t is None:
        return ["n/a", "n/a", "n/a"]
    return [
        f"{pp(t.diff)} [{pp(t.lo)}, {pp(t.hi)}]",
        f"{t.p_value:.3g} ({t.p_adj:.3g})",
        verdict_cell(t.as_test()),
    ]


def rule_section(d: Decision) -> Section:
    """How the choice was made: every option against the most accurate one on the decision
    set, and against the chosen one on the confirmation set; the rule as its note."""
    m = f"{d.margin_pp:g}"
    head = ["Option", f"Δ vs most accurate, {d.decide.name}, pp [95% CI]", "McNemar p (Holm)"]
    head.append(f"Verdict at {m} pp")
    if d.confirm is not None:
        head += [f"Δ vs chosen, {d.confirm.name}, pp [95% CI]", "McNemar p (Holm)", "Verdict"]
    lines = md_header(head)
    for o in d.options:
        best = ["0 (most accurate)", "n/a", "most accurate"] if o.key == d.best_key else []
        cells = [o.name, *(best or _cell(o.vs_best))]
        if d.confirm is not None:
            cells += (
                ["0 (chosen)", "n/a", "chosen"] if o.key == d.chosen_key else _cell(o.vs_chosen)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return ("how-chosen", "How the choice was made", "\n".join(lines), rule_note(d))


RULES = {
    "most-accurate": "the most accurate option on the decision set, and no cheaper option is "
    "shown within the margin of it",
    "non-inferior": "the cheapest option shown within the margin of the most accurate one on "
    "the decision set",
    "too-small": "the cheapest of the options the decision set is too small to tell apart",
}


def rule_note(d: Decision) -> str:
    m = f"{d.margin_pp:g}"
    return (
        f"Chosen by the rule: {RULES[d.rule]}. The options are compared on {d.decide.name} "
        f"only; "
        + (
            f"{d.confirm.name} then reports the chosen option's accuracy and its paired "
            f"comparisons, and chooses nothing: picking on the set one reports on inflates the "
            f"winner. "
            if d.confirm is not None
            else "there is no confirmation set, so its accuracy is the one it was chosen on "
            "(optimistic). "
        )
        + f"Non-inferior: the lower end of the paired 95% bootstrap interval of the difference "
        f"is at or above -{m} pp (costs.margin_pp). Superior and inferior also need a "
        f"Holm-adjusted McNemar p < 0.05; each set's comparisons are one Holm family. "
        f"Inconclusive: neither; N is the planner's number of tickets with which (power 0.8, "
        f"the measured difference and discordance taken as true) it would be settled. A set "
        f"is too small when such an N is larger than the set; the Decision then runs the "
        f"cheapest option it cannot tell apart from the most accurate one and says how many "
        f"more tickets to label. Costs: the 'Cost per 1,000 tickets' section; docs/method.md "
        f"has the rules."
    )
