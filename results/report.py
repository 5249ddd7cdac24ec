"""A wave's results as CSV and as one self-contained HTML page with bar charts. Pure: the
functions return text; the command writes it."""

from __future__ import annotations

import csv
import io
from html import escape

from questionnaire.model import Item, Kind
from results.aapor import RATES
from results.estimates import GROUPS, Estimate
from results.summary import WaveResults, key

ESTIMATE_COLUMNS = (
    "question", "answer", "measure", "group", "value", "estimate", "moe_95", "base",
    "previous", "change",
)  # fmt: skip
RATE_COLUMNS = ("cell", "cases", "I", "P", "R", "NC", "O", "UH", "UO", "NE", *RATES)

_LABELS = {
    "it": {
        "title": "Risultati", "wave": "ondata", "rates": "Tassi di risposta (AAPOR)",
        "cases": "casi", "weighting": "Ponderazione", "deff": "effetto del disegno",
        "respondents": "intervistati", "all": "Totale", "district": "Circoscrizione",
        "age_band": "Età", "sex": "Sesso", "previous": "ondata prec.", "base": "base",
        "mean": "media", "none": "Nessuna intervista completa in questa ondata.",
        "moe": "margine d'errore al 95%", "iterations": "iterazioni",
        "unrepresented": "Senza intervistati, rappresentati dagli altri gruppi",
        "partial": "Campione troppo scarso per tutti i margini; ponderato solo per",
    },
    "en": {
        "title": "Results", "wave": "wave", "rates": "Response rates (AAPOR)", "cases": "cases",
        "weighting": "Weighting", "deff": "design effect", "respondents": "respondents",
        "all": "All", "district": "District", "age_band": "Age", "sex": "Sex",
        "previous": "prev. wave", "base": "base", "mean": "mean",
        "none": "No complete interview in this wave yet.", "moe": "95% margin of error",
        "iterations": "iterations",
        "unrepresented": "No respondent, stood for by the other groups",
        "partial": "Sample too sparse for every margin; weighted by",
    },
}  # fmt: skip


def estimates_csv(results: WaveResults) -> str:
    """One row per estimate, with the previous wave's and the change when there is one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ESTIMATE_COLUMNS)
    for e in results.estimates:
        before = results.previous.get(key(e))
        writer.writerow([
            e.question, e.answer, e.measure, e.group, e.value, f"{e.estimate:.6f}",
            f"{e.moe:.6f}", e.base, "" if before is None else f"{before:.6f}",
            "" if before is None else f"{e.estimate - before:.6f}",
        ])  # fmt: skip
    return out.getvalue()


def rates_csv(results: WaveResults) -> str:
    """AAPOR counts and rates: the wave, then each cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RATE_COLUMNS)
    rows = [("all", results.outcomes.counts, results.outcomes.rates)]
    rows += [(str(c.cell), c.counts, c.rates) for c in results.outcomes.cells]
    for name, counts, rates in rows:
        writer.writerow([
            name, counts.cases, counts.i, counts.p, counts.r, counts.nc, counts.o, counts.uh,
            counts.uo, counts.ne, *("" if rates[r] is None else f"{rates[r]:.6f}" for r in RATES),
        ])  # fmt: skip
    return out.getvalue()


def html_report(results: WaveResults, language: str = "it") -> str:
    """The whole report: rates, weighting, and per question a chart and a table by group."""
    t = _LABELS["en" if language == "en" else "it"]
    q = results.questionnaire
    parts = [
        f"<!doctype html><html lang='{language}'><meta charset='utf-8'>",
        f"<title>{escape(q.title.get(language))}: {t['title']}</title><style>{_CSS}</style>",
        f"<h1>{escape(q.title.get(language))}</h1>",
        f"<p>{t['title']}: {escape(results.survey)}, {t['wave']} {results.wave}</p>",
        f"<h2>{t['rates']}</h2>",
        _rates_table(results, t),
    ]
    if results.weighting is None:
        parts.append(f"<p>{t['none']}</p>")
    else:
        w = results.weighting
        parts.append(
            f"<h2>{t['weighting']}</h2><p>{len(w.weights)} {t['respondents']}; raking "
            f"({w.iterations} {t['iterations']}); {t['deff']} {w.design_effect:.3f}</p>"
        )
        if w.unrepresented:
            missing = escape(", ".join(w.unrepresented))
            parts.append(f"<p class='warn'>{t['unrepresented']}: {missing}</p>")
        if w.variables != GROUPS:
            used = ", ".join(t[name] for name in w.variables) or "–"
            parts.append(f"<p class='warn'>{t['partial']}: {escape(used)}</p>")
        by_question: dict[str, list[Estimate]] = {}
        for e in results.estimates:
            by_question.setdefault(e.question, []).append(e)
        for item in q.questions:
            if item.id in by_question:
                parts.append(_question(item, by_question[item.id], results, language, t))
    parts.append("</html>")
    return "\n".join(parts)


def _rates_table(results: WaveResults, t: dict[str, str]) -> str:
    head = "".join(f"<th>{name}</th>" for name in RATES)
    rows = [(t["all"], results.outcomes.counts.cases, results.outcomes.rates)]
    rows += [(str(c.cell), c.counts.cases, c.rates) for c in results.outcomes.cells]
    body = "".join(
        f"<tr><th>{escape(name)}</th><td>{cases}</td>"
        + "".join(f"<td>{_pct(rates[r])}</td>" for r in RATES)
        + "</tr>"
        for name, cases, rates in rows
    )
    e = results.outcomes.eligibility
    note = f"<p class='note'>e = {e:.4f}</p>" if e is not None else ""
    return f"<table class='rates'><tr><th></th><th>{t['cases']}</th>{head}</tr>{body}</table>{note}"


def _question(
    item: Item, found: list[Estimate], results: WaveResults, language: str, t: dict[str, str]
) -> str:
    labels = {o.code: o.label.get(language) for o in item.options}
    if item.kind is Kind.YES_NO_BECAUSE:
        labels = {"yes": "Sì" if language == "it" else "Yes"}
    groups = sorted(
        {(e.group, e.value) for e in found if e.group != "all"},
        key=lambda gv: (GROUPS.index(gv[0]), gv[1]),
    )
    columns = [("all", "all"), *groups]
    cell = {(e.answer, e.group, e.value): e for e in found}
    answers = list(dict.fromkeys(e.answer for e in found))
    chart = "".join(
        _bar(labels.get(a, a), cell[(a, "all", "all")], results, t, item.scale) for a in answers
    )
    head = "".join(
        f"<th>{t['all'] if g == 'all' else escape(t[g] + ' ' + v)}</th>" for g, v in columns
    )
    rows = "".join(
        f"<tr><th>{escape(labels.get(a, a))}</th>"
        + "".join(_figure(cell.get((a, g, v))) for g, v in columns)
        + "</tr>"
        for a in answers
    )
    base = cell[(answers[0], "all", "all")].base
    return (
        f"<section><h3>{escape(item.id)}. {escape(item.text.get(language))}</h3>"
        f"<div class='chart'>{chart}</div><p class='note'>{t['base']}: {base}; "
        f"± {t['moe']}</p><table><tr><th></th>{head}</tr>{rows}</table></section>"
    )


def _bar(
    label: str, e: Estimate, results: WaveResults, t: dict[str, str], scale: tuple[int, int]
) -> str:
    """A share's bar is the share; a mean rating's, its place on the item's scale."""
    share = e.measure == "share"
    low, high = scale
    width = 100 * (e.estimate if share else (e.estimate - low) / max(high - low, 1))
    text = _pct(e.estimate) if share else f"{t['mean']} {e.estimate:.2f}"
    before = results.previous.get(key(e))
    previous = ""
    if before is not None:
        then = _pct(before) if share else f"{before:.2f}"
        previous = f" <span class='prev'>({t['previous']}: {then})</span>"
    return (
        f"<div class='row'><span class='label'>{escape(label)}</span>"
        f"<span class='bar' style='width:{min(max(width, 0), 100):.1f}%'></span>"
        f"<span class='value'>{text} ± {_moe(e)}{previous}</span></div>"
    )


def _figure(e: Estimate | None) -> str:
    if e is None:
        return "<td></td>"
    text = _pct(e.estimate) if e.measure == "share" else f"{e.estimate:.2f}"
    return f"<td title='n = {e.base}'>{text} <small>± {_moe(e)}</small></td>"


def _moe(e: Estimate) -> str:
    return _pct(e.moe) if e.measure == "share" else f"{e.moe:.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222 }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 12px }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right }
th:first-child { text-align: left; white-space: nowrap }
.chart { max-width: 48em }
.row { display: flex; align-items: center; gap: .5em; margin: 2px 0 }
.label { flex: 0 0 18em; text-align: right }
.bar { display: inline-block; height: 1em; background: #3b6ea8; max-width: 20em; flex: none }
.value { white-space: nowrap }
.note, .prev { color: #666; font-size: 12px }
.warn { color: #8a4b00 }
"""
