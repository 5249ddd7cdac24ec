"""The questionnaire: its file format checked on load, its conditions, answers and routing."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questionnaire.answers import check_answer, check_interview
from questionnaire.condition import ConditionSyntaxError, holds, parse
from questionnaire.errors import AnswerError, QuestionnaireError
from questionnaire.load import load_questionnaire, questionnaire_from
from questionnaire.model import Kind, Questionnaire
from questionnaire.routing import kept_answers, next_item, path, unanswered

SHIPPED = Path(__file__).parent.parent / "sampling" / "data" / "la_spezia" / "questionnaire.toml"
LA_SPEZIA = load_questionnaire(SHIPPED)

# The rest of an interview, fit for every path: one answer per question after q2.
REST: dict[str, Any] = {
    "q3": {"a": 4, "b": 3, "c": 2, "d": 4, "e": 1},
    "q4": "A",
    "q5": ["B", "A"],
    "q6": {"answer": "no", "because": "nessuno ci ha chiesto niente"},
    "q7": "più autobus la sera",
}


def _ids(items: Any) -> list[str]:
    return [item.id for item in items]


def _every_path() -> list[tuple[dict[str, Any], list[str]]]:
    """Each combination of the routing answers (q1, q2 when asked, q8) with the path the
    original's routing prescribes: q2 only after 1B; the explanation after 1A, 2A or 2B;
    8a only after a yes to 8, else 8b."""
    cases = []
    for q1, q2, q8 in itertools.product("AB", ["A", "B", "C", None], ["yes", "no"]):
        if (q1 == "B") != (q2 is not None):
            continue
        answers: dict[str, Any] = {"q1": q1, **REST, "q8": q8}
        expected = ["q1"]
        if q1 == "B":
            answers["q2"] = q2
            expected.append("q2")
        if q1 == "A" or q2 in ("A", "B"):
            expected.append("explain")
        expected += ["q3", "q4", "q5", "q6", "q7", "q8"]
        expected.append("q8a" if q8 == "yes" else "q8b")
        answers["q8a" if q8 == "yes" else "q8b"] = ["A", "C"] if q8 == "yes" else "B"
        cases.append((answers, expected))
    return cases


def test_the_shipped_questionnaire_has_questions_1_to_8b() -> None:
    """The La Spezia questionnaire loads with its items in order, in Italian and English."""
    assert ["q1", "q2", "explain", "q3", "q4", "q5", "q6", "q7", "q8", "q8a", "q8b"] == _ids(
        LA_SPEZIA.items
    )
    kinds = {item.kind for item in LA_SPEZIA.items}
    assert set(Kind) == kinds  # every kind of item is exercised by the demo's survey
    assert all(item.text.it and item.text.en for item in LA_SPEZIA.items)


@pytest.mark.parametrize(("answers", "expected"), _every_path())
def test_every_path_of_the_shipped_questionnaire(
    answers: dict[str, Any], expected: list[str]
) -> None:
    """Each routing path shows exactly the items the original prescribes, and its answers
    make a complete interview."""
    assert expected == _ids(path(LA_SPEZIA, answers))
    assert () == unanswered(LA_SPEZIA, answers)
    assert set(answers) == set(check_interview(LA_SPEZIA, answers))


def test_next_item_walks_the_path() -> None:
    """Asking item by item follows the routing as answers come in."""
    answers: dict[str, Any] = {}
    walked = []
    item = next_item(LA_SPEZIA, answers)
    script = {"q1": "B", "q2": "C", **REST, "q8": "no", "q8b": "A"}
    while item is not None:
        walked.append(item.id)
        if item.asks:
            answers[item.id] = script[item.id]
        item = next_item(LA_SPEZIA, answers, item.id)
    assert ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q8b"] == walked


def test_going_back_drops_answers_left_off_the_path() -> None:
    """Changing 1B to 1A takes question 2 off the path: its answer no longer counts."""
    answers = {"q1": "A", "q2": "C", **REST, "q8": "yes", "q8a": ["B"], "q8b": "A"}
    kept = kept_answers(LA_SPEZIA, answers)
    assert set() == {"q2", "q8b"} & set(kept)
    expected = {"q1": "A", **REST, "q5": ["A", "B"], "q8": "yes", "q8a": ["B"]}
    assert expected == check_interview(LA_SPEZIA, answers)


def test_an_incomplete_interview_names_the_first_unanswered_question() -> None:
    """A finished interview needs every question on its path."""
    with pytest.raises(AnswerError, match="q4: not answered"):
        check_interview(LA_SPEZIA, {"q1": "A", "q3": REST["q3"]})


@pytest.mark.parametrize(
    ("question", "value", "problem"),
    [
        ("q1", "C", "'C' is not one of its options"),
        ("q3", {"a": 5, "b": 1, "c": 1, "d": 1, "e": 1}, "q3.a: 5 is not a rating from 1 to 4"),
        ("q3", {"a": 1}, "q3.b: not rated"),
        ("q3", {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "z": 2}, "no row 'z'"),
        ("q3", {"a": True, "b": 1, "c": 1, "d": 1, "e": 1}, "q3.a: True is not a rating"),
        ("q5", ["A", "B", "C"], "at most 2 options, not 3"),
        ("q5", ["A", "A"], "an option is chosen twice"),
        ("q5", [], "choose at least one option"),
        ("q6", {"answer": "maybe"}, "answer yes or no"),
        ("q7", "   ", "the answer is empty"),
        ("q7", "x" * 2001, "longer than 2000 characters"),
        ("explain", "ok", "a text to read out takes no answer"),
    ],
)
def test_an_answer_out_of_range_is_refused(question: str, value: Any, problem: str) -> None:
    """An answer that does not fit its question is an error naming the question."""
    with pytest.raises(AnswerError, match=problem):
        check_answer(LA_SPEZIA.item(question), value)


def test_answers_are_normalised() -> None:
    """Choices come back in the options' order; texts trimmed; a missing reason is empty."""
    assert ["A", "B"] == check_answer(LA_SPEZIA.item("q5"), ["B", "A"])
    assert "più autobus" == check_answer(LA_SPEZIA.item("q7"), "  più autobus ")
    assert {"answer": "yes", "because": ""} == check_answer(LA_SPEZIA.item("q6"), {"answer": "yes"})


def test_an_unknown_question_in_an_interview_is_refused() -> None:
    """An answer to a question the questionnaire does not have is named."""
    with pytest.raises(AnswerError, match="q99: no such question"):
        check_interview(LA_SPEZIA, {"q99": "A"})


# --- conditions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        ("q1 = A", {"q1": "A"}, True),
        ("q1 = A", {}, False),
        ("q1 != A", {}, False),  # unanswered: every comparison is false
        ("not q1 = A", {}, True),
        ("q1 != A", {"q1": "B"}, True),
        ("q5 = B", {"q5": ["A", "B"]}, True),  # a multiple question: among the choices
        ("q5 != B", {"q5": ["A", "B"]}, False),
        ("q6 = yes", {"q6": {"answer": "yes", "because": ""}}, True),
        ("q3.a >= 3", {"q3": {"a": 3}}, True),
        ("q3.a > 3", {"q3": {"a": 3}}, False),
        ("q3.a < 2 or q3.b in [1, 2]", {"q3": {"a": 4, "b": 2}}, True),
        ("q1 = A and (q2 = B or q2 = C)", {"q1": "A", "q2": "C"}, True),
        ("q1 = A and q2 = B or q2 = C", {"q1": "B", "q2": "C"}, True),  # and binds tighter
        ("q1 = 'A B'", {"q1": "A B"}, True),
        ("q1 = 1", {"q1": "1"}, True),  # option codes are text: 1 and "1" are one code
        ("q1 in [1, 2]", {"q1": "2"}, True),
        ("q1 != 1", {"q1": "1"}, False),
        ("q1 = 01", {"q1": "01"}, True),  # as written: option "01"...
        ("q1 = 01", {"q1": "1"}, False),  # ...not option "1"
        ("q3.a = 03", {"q3": {"a": 3}}, True),  # a rating is a number however written
    ],
)
def test_conditions(condition: str, answers: dict[str, Any], expected: bool) -> None:
    """Each comparison and connective means what docs/questionnaire.md says."""
    assert expected == holds(parse(condition), answers)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("q1 =", "expected more at the end"),
        ("q1 A", "expected a comparison after q1"),
        ("= A", "expected a question id"),
        ("q1 = A and", "expected more at the end"),
        ("q1 in [A", "expected ']'"),
        ("q3.a > x", "needs a number"),
        ("q1 = A )", "unexpected ')'"),
        ("q1 = A @", "cannot read '@'"),
        ("(q1 = A", "expected ')'"),
    ],
)
def test_a_condition_that_does_not_parse_says_where(text: str, problem: str) -> None:
    """Syntax errors quote the expression and what was expected."""
    with pytest.raises(ConditionSyntaxError, match=re.escape(problem)):
        parse(text)


# --- the file is checked on load ---------------------------------------------------------


def _doc(*items: str) -> dict[str, Any]:
    head = '[questionnaire]\nid = "t"\ntitle = { it = "T", en = "T" }\n'
    head += 'introduction = { it = "Buongiorno", en = "Good morning" }\n'
    return tomllib.loads(head + "".join(items))


def _single(item_id: str, when: str | None = None) -> str:
    condition = f"when = {when!r}\n" if when else ""
    return (
        f'[[item]]\nid = "{item_id}"\nkind = "single"\n{condition}'
        'text = { it = "Domanda?", en = "Question?" }\n'
        'options = [{ code = "A", it = "Sì", en = "Yes" }, { code = "B", it = "No", en = "No" }]\n'
    )


GRID = (
    '[[item]]\nid = "g"\nkind = "grid"\ntext = { it = "Voti", en = "Ratings" }\n'
    'rows = [{ code = "a", it = "Uno", en = "One" }]\n'
)
OPEN = '[[item]]\nid = "t"\nkind = "text"\ntext = { it = "Perché?", en = "Why?" }\n'


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((_single("q1"), _single("q1")), "q1: the id is used by two items"),
        ((_single("q1", "q9 = A"),), "q1.when: refers to q9, which is not a question here"),
        ((_single("q1", "q1 = A"),), "q1.when: routing loops back to itself: q1 -> q1"),
        (
            (_single("q1", "q2 = A"), _single("q2", "q1 = B")),
            "routing loops back to itself: q1 -> q2 -> q1",
        ),
        ((_single("q1", "q2 = A"), _single("q2")), "q1.when: refers to q2, which is asked after"),
        ((_single("q1"), _single("q2", "q1 = C")), "q2.when: q1 cannot be 'C'"),
        ((_single("q1"), _single("q2", "q1 > 1")), "q2.when: q1 cannot be 1"),
        ((GRID, _single("q2", "g = 1")), "g is a grid: name a row, e.g. g.a"),
        ((GRID, _single("q2", "g.b = 1")), "g has no row 'b'"),
        ((GRID, _single("q2", "g.a = 5")), "g.a cannot be 5: its answers are a rating from 1"),
        ((OPEN, _single("q2", "t = A")), "q2.when: t is text: no answer to test"),
        ((_single("q1"), _single("q2", "q1.x = A")), "q1 is not a grid"),
        ((_single("q1", "q1 = = A"),), "q1.when: expected a value"),
        ((_single("and"),), "item 1.id: must be a name like q1"),
        ((_single("q1").replace('kind = "single"', 'kind = "slider"'),), "q1.kind: must be one"),
        ((_single("q1").replace('en = "Question?"', 'fr = "Question?"'),), "q1.text.en: text"),
        ((_single("q1").replace('code = "B"', 'code = "A"'),), "q1.options\\[1\\].code: 'A'"),
        ((_single("q1") + "colour = 1\n",), "q1.colour: unknown key"),
        ((GRID.replace("rows", "options"),), "g.options: not for a grid item"),
        ((GRID + "scale = [4, 1]\n",), "g.scale: must be \\[lowest, highest\\]"),
        ((_single("q1") + "max_choices = 1\n",), "q1.max_choices: only for a multiple"),
        ((OPEN + 'options = [{ code = "A", it = "a", en = "a" }]\n',), "t.options: not for a"),
    ],
)
def test_a_bad_questionnaire_names_the_question(items: tuple[str, ...], message: str) -> None:
    """Every mistake in the file is an error naming the item (and key) at fault."""
    with pytest.raises(QuestionnaireError, match=message):
        questionnaire_from(_doc(*items))


def test_numeric_option_codes_can_be_named_unquoted_in_conditions() -> None:
    """Options coded "1" and "2" (as paper questionnaires number them): ``q1 = 1`` names
    option "1"; it was refused with "q1 cannot be 1: its answers are one of 1, 2"."""
    numbered = _single("q1").replace('code = "A"', 'code = "1"').replace('code = "B"', 'code = "2"')
    loaded = questionnaire_from(_doc(numbered, _single("q2", "q1 = 1")))
    assert ["q1", "q2"] == [item.id for item in loaded.items]


def test_option_codes_with_a_leading_zero_can_be_named_unquoted_in_conditions() -> None:
    """Options coded "01" and "02": ``q1 = 02`` names option "02". It was read as the
    number 2, and refused with "q1 cannot be 2: its answers are one of 01, 02"."""
    numbered = (
        _single("q1").replace('code = "A"', 'code = "01"').replace('code = "B"', 'code = "02"')
    )
    loaded = questionnaire_from(_doc(numbered, _single("q2", "q1 = 02")))
    assert loaded.items[1].when is not None
    assert holds(loaded.items[1].when, {"q1": "02"})


def test_a_questionnaire_without_items_or_header_is_refused(tmp_path: Path) -> None:
    """Missing sections and unreadable files are named."""
    with pytest.raises(QuestionnaireError, match="item: the questionnaire has no items"):
        questionnaire_from(_doc())
    with pytest.raises(QuestionnaireError, match="questionnaire: section is missing"):
        questionnaire_from(tomllib.loads(_single("q1")))
    bad = tmp_path / "q.toml"
    bad.write_text("[questionnaire\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="not valid TOML"):
        load_questionnaire(bad)


# --- routing properties ------------------------------------------------------------------

_ROUTING_ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "q1": st.sampled_from(["A", "B"]),
        "q2": st.sampled_from(["A", "B", "C"]),
        "q8": st.sampled_from(["yes", "no"]),
        "q8a": st.just(["A"]),
        "q8b": st.just("D"),
    },
)


@given(_ROUTING_ANSWERS)
def test_the_path_is_consistent_with_its_conditions(answers: dict[str, Any]) -> None:
    """Whatever the answers, every item on the path has its condition true of the kept
    answers, every item off it false, and only answers on the path are kept."""
    questionnaire: Questionnaire = LA_SPEZIA
    shown = _ids(path(questionnaire, answers))
    kept = kept_answers(questionnaire, answers)
    assert set(kept) <= set(shown)
    for item in questionnaire.items:
        if item.when is not None:
            assert (item.id in shown) == holds(item.when, kept)
