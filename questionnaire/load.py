"""Reading a questionnaire file (TOML) and checking it whole: every error names the item.

See docs/questionnaire.md for the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from questionnaire.condition import (
    Compare,
    Condition,
    ConditionSyntaxError,
    Ref,
    compares,
    parse,
    refs,
)
from questionnaire.errors import QuestionnaireError
from questionnaire.model import LANGUAGES, YES_NO, Item, Kind, Option, Questionnaire, Text
from sampling.tomlkeys import read_toml, typed

_ID = re.compile(r"[A-Za-z_][\w-]*")
_RESERVED = frozenset({"and", "or", "not", "in"})
_ITEM_KEYS = {
    "id", "kind", "text", "when", "options", "rows", "scale", "scale_labels", "max_choices",
    "because",
}  # fmt: skip
_CHOICES = (Kind.SINGLE, Kind.MULTIPLE)


def load_questionnaire(path: Path) -> Questionnaire:
    """Read and check the questionnaire in ``path``."""
    return questionnaire_from(read_toml(path, QuestionnaireError))


def questionnaire_from(doc: Mapping[str, Any]) -> Questionnaire:
    """The questionnaire a parsed TOML document describes, checked."""
    unknown = set(doc) - {"questionnaire", "item"}
    if unknown:
        raise QuestionnaireError(sorted(unknown)[0], "unknown section (known: questionnaire, item)")
    head = doc.get("questionnaire")
    if not isinstance(head, dict):
        raise QuestionnaireError("questionnaire", "section is missing")
    _known(head, {"id", "title", "introduction"}, "questionnaire")
    raw_items = doc.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise QuestionnaireError("item", "the questionnaire has no items ([[item]] tables)")
    items = tuple(_item(raw, n) for n, raw in enumerate(raw_items, 1))
    _check_ids(items)
    _check_routing(items)
    return Questionnaire(
        id=typed(head.get("id"), "questionnaire.id", str),
        title=_text(head.get("title"), "questionnaire.title"),
        introduction=_text(head.get("introduction"), "questionnaire.introduction"),
        items=items,
    )


def _item(raw: Any, number: int) -> Item:
    where = f"item {number}"
    if not isinstance(raw, dict):
        raise QuestionnaireError(where, "must be a table")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not _ID.fullmatch(item_id) or item_id in _RESERVED:
        raise QuestionnaireError(f"{where}.id", f"must be a name like q1 or q8a, not {item_id!r}")
    where = item_id
    _known(raw, _ITEM_KEYS, where)
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise QuestionnaireError(f"{where}.kind", f"must be one of {known}") from None
    options = _options(raw, kind, where)
    scale = _scale(raw, kind, where)
    labels = tuple(
        _text(label, f"{where}.scale_labels[{n}]")
        for n, label in enumerate(_list(raw, "scale_labels", where))
    )
    if labels and len(labels) != scale[1] - scale[0] + 1:
        raise QuestionnaireError(
            f"{where}.scale_labels", f"needs {scale[1] - scale[0] + 1} labels, one per rating"
        )
    max_choices = typed(raw.get("max_choices", 0), f"{where}.max_choices", int)
    if max_choices and (kind is not Kind.MULTIPLE or not 1 <= max_choices <= len(options)):
        raise QuestionnaireError(
            f"{where}.max_choices", "only for a multiple question, at most its options"
        )
    because = raw.get("because")
    if because is not None and kind is not Kind.YES_NO_BECAUSE:
        raise QuestionnaireError(f"{where}.because", "only for a yes_no_because question")
    when = raw.get("when")
    condition: Condition | None = None
    if when is not None:
        try:
            condition = parse(typed(when, f"{where}.when", str))
        except ConditionSyntaxError as exc:
            raise QuestionnaireError(f"{where}.when", str(exc)) from None
    return Item(
        id=item_id,
        kind=kind,
        text=_text(raw.get("text"), f"{where}.text"),
        when=condition,
        options=options,
        scale=scale,
        scale_labels=labels,
        max_choices=max_choices,
        because=None if because is None else _text(because, f"{where}.because"),
    )


def _options(raw: Mapping[str, Any], kind: Kind, where: str) -> tuple[Option, ...]:
    key = "rows" if kind is Kind.GRID else "options"
    other = "options" if key == "rows" else "rows"
    if other in raw:
        raise QuestionnaireError(f"{where}.{other}", f"not for a {kind.value} item")
    wanted = 2 if kind in _CHOICES else 1 if kind is Kind.GRID else 0
    entries = _list(raw, key, where)
    if wanted == 0 and entries:
        raise QuestionnaireError(f"{where}.{key}", f"not for a {kind.value} item")
    if len(entries) < wanted:
        raise QuestionnaireError(f"{where}.{key}", f"a {kind.value} item needs at least {wanted}")
    options: list[Option] = []
    for n, entry in enumerate(entries):
        at = f"{where}.{key}[{n}]"
        if not isinstance(entry, dict):
            raise QuestionnaireError(at, 'must be a table like { code = "A", it = ..., en = ... }')
        _known(entry, {"code", *LANGUAGES}, at)
        code = entry.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"[\w-]+", code):
            raise QuestionnaireError(f"{at}.code", f"must be a short code like A, not {code!r}")
        if any(o.code == code for o in options):
            raise QuestionnaireError(f"{at}.code", f"{code!r} is used twice")
        options.append(Option(code, _text(entry, at)))
    return tuple(options)


def _scale(raw: Mapping[str, Any], kind: Kind, where: str) -> tuple[int, int]:
    if "scale" not in raw:
        return (1, 4)
    if kind is not Kind.GRID:
        raise QuestionnaireError(f"{where}.scale", "only for a grid")
    scale = raw["scale"]
    if (
        not isinstance(scale, list)
        or len(scale) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
        or scale[0] >= scale[1]
    ):
        raise QuestionnaireError(f"{where}.scale", "must be [lowest, highest], e.g. [1, 4]")
    return (scale[0], scale[1])


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, dict):
        raise QuestionnaireError(where, 'must be a table of texts: { it = "...", en = "..." }')
    for language in LANGUAGES:
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            raise QuestionnaireError(f"{where}.{language}", "text is missing")
    return Text(raw["it"].strip(), raw["en"].strip())


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise QuestionnaireError(f"{where}.{key}", "must be a list")
    return value


def _known(table: Mapping[str, Any], keys: set[str], where: str) -> None:
    for key in table:
        if key not in keys:
            raise QuestionnaireError(
                f"{where}.{key}", f"unknown key (known: {', '.join(sorted(keys))})"
            )


def _check_ids(items: Iterable[Item]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise QuestionnaireError(item.id, "the id is used by two items")
        seen.add(item.id)


def _check_routing(items: tuple[Item, ...]) -> None:
    """Conditions read existing questions, in a way their answers allow, asked before them."""
    by_id = {item.id: item for item in items}
    for item in items:
        for ref in refs(item.when) if item.when else ():
            _check_ref(item, ref, by_id)
    _check_cycles(items)
    position = {item.id: n for n, item in enumerate(items)}
    for item in items:
        for ref in refs(item.when) if item.when else ():
            if position[ref.question] > position[item.id]:
                raise QuestionnaireError(
                    f"{item.id}.when", f"refers to {ref.question}, which is asked after it"
                )
    for item in items:
        for compare in compares(item.when) if item.when else ():
            _check_values(item, compare, by_id[compare.ref.question])


def _check_ref(item: Item, ref: Ref, by_id: Mapping[str, Item]) -> None:
    where = f"{item.id}.when"
    target = by_id.get(ref.question)
    if target is None:
        raise QuestionnaireError(where, f"refers to {ref.question}, which is not a question here")
    if target.kind in (Kind.READ, Kind.TEXT):
        raise QuestionnaireError(where, f"{ref.question} is {target.kind.value}: no answer to test")
    if target.kind is Kind.GRID:
        if ref.row is None:
            first = target.options[0].code
            raise QuestionnaireError(
                where, f"{ref.question} is a grid: name a row, e.g. {ref.question}.{first}"
            )
        if target.option(ref.row) is None:
            raise QuestionnaireError(where, f"{ref.question} has no row {ref.row!r}")
    elif ref.row is not None:
        raise QuestionnaireError(where, f"{ref.question} is not a grid: {ref} names no row")


def _check_values(item: Item, compare: Compare, target: Item) -> None:
    where = f"{item.id}.when"
    for value in compare.values:
        if target.kind is Kind.GRID:
            low, high = target.scale
            ok = isinstance(value, int) and low <= value <= high
            expected = f"a rating from {low} to {high}"
        elif target.kind is Kind.YES_NO_BECAUSE:
            ok, expected = value in YES_NO, "yes or no"
        else:
            ok = target.option(str(value)) is not None  # q1 = 1 names option "1"
            expected = "one of " + ", ".join(o.code for o in target.options)
        if not ok:
            raise QuestionnaireError(
                where, f"{compare.ref} cannot be {value!r}: its answers are {expected}"
            )
        if compare.op not in ("=", "!=", "in") and target.kind is not Kind.GRID:
            raise QuestionnaireError(where, f"{compare.ref} {compare.op}: only a grid's ratings")


def _check_cycles(items: tuple[Item, ...]) -> None:
    """A condition that depends, through others, on its own item: an error naming the loop."""
    needs = {
        item.id: sorted({ref.question for ref in refs(item.when)}) if item.when else []
        for item in items
    }
    done: set[str] = set()

    def visit(item_id: str, trail: list[str]) -> None:
        if item_id in trail:
            loop = " -> ".join([*trail[trail.index(item_id) :], item_id])
            raise QuestionnaireError(f"{item_id}.when", f"routing loops back to itself: {loop}")
        if item_id in done:
            return
        for other in needs.get(item_id, []):
            visit(other, [*trail, item_id])
        done.add(item_id)

    for item in items:
        visit(item.id, [])
