"""Routing conditions: a small expression language over earlier answers, parsed once, pure.

    q1 = B                      a single choice; for a multiple one: B is among those chosen
    q8 = yes                    a yes/no question
    q1 = A or q2 in [A, B]      ``in`` a list; ``and``, ``or``, ``not`` and parentheses
    q3.a >= 3                   a grid's row ``a``, rated 3 or more (=, !=, <, <=, >, >=)

A comparison with a question that has no answer (not asked, or skipped) is false, ``!=``
included: ``not q1 = A`` is true when q1 was not asked.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class Numeral(int):
    """A whole number as written in a condition: its value for a grid's ratings, its text
    for an option's code (``q1 = 01`` names option "01", not "1")."""

    text: str

    def __new__(cls, text: str) -> Numeral:
        numeral = super().__new__(cls, int(text))
        numeral.text = text
        return numeral

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


Value = str | int


@dataclass(frozen=True, slots=True)
class Ref:
    """A question, or one row of a grid question (``q3.a``)."""

    question: str
    row: str | None = None

    def __str__(self) -> str:
        return self.question if self.row is None else f"{self.question}.{self.row}"


@dataclass(frozen=True, slots=True)
class Compare:
    ref: Ref
    op: str  # =, !=, <, <=, >, >=, in
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


Condition = Compare | Not | AllOf | AnyOf


class ConditionSyntaxError(ValueError):
    """The expression does not parse; the message says where."""


_TOKEN = re.compile(
    r"\s*(?:(?P<punct>!=|<=|>=|[=<>()\[\],])|(?P<quoted>\"[^\"]*\"|'[^']*')|(?P<word>[\w.-]+))"
)
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def parse(text: str) -> Condition:
    """The condition written in ``text``."""
    parser = _Parser(list(_tokens(text)), text)
    condition = parser.expression()
    if parser.peek() is not None:
        raise ConditionSyntaxError(f"unexpected {parser.peek()!r} in {text!r}")
    return condition


def compares(condition: Condition) -> Iterator[Compare]:
    """Every comparison in ``condition``."""
    match condition:
        case Compare():
            yield condition
        case Not(condition=inner):
            yield from compares(inner)
        case AllOf(conditions=parts) | AnyOf(conditions=parts):
            for part in parts:
                yield from compares(part)


def refs(condition: Condition) -> Iterator[Ref]:
    """Every question (or grid row) ``condition`` reads."""
    return (compare.ref for compare in compares(condition))


def holds(condition: Condition, answers: Mapping[str, Any]) -> bool:
    """Whether ``condition`` is true of ``answers`` (question id -> answer, as stored)."""
    match condition:
        case Compare(ref=ref, op=op, values=values):
            return _compare(_answered(ref, answers), op, values)
        case Not(condition=inner):
            return not holds(inner, answers)
        case AllOf(conditions=parts):
            return all(holds(part, answers) for part in parts)
        case AnyOf(conditions=parts):
            return any(holds(part, answers) for part in parts)
    raise TypeError(condition)  # pragma: no cover - the union is exhaustive


def _answered(ref: Ref, answers: Mapping[str, Any]) -> list[Value]:
    """The values an answer offers to a comparison: none when unanswered, every choice of a
    multiple question, the yes/no of a yes/no question, a grid row's rating."""
    answer = answers.get(ref.question)
    if answer is None:
        return []
    if ref.row is not None:
        rating = answer.get(ref.row) if isinstance(answer, Mapping) else None
        return [] if rating is None else [rating]
    if isinstance(answer, Mapping):
        return [answer["answer"]] if "answer" in answer else []
    if isinstance(answer, list | tuple):
        return list(answer)
    return [answer]


def _compare(answered: list[Value], op: str, values: tuple[Value, ...]) -> bool:
    if not answered:
        return False
    if op in ("=", "in", "!="):  # a code written 1 or "1" is the same code; a rating, a number
        wanted = {str(v) for v in values}
        numbers = {int(v) for v in values if isinstance(v, int)}
        found = any(str(a) in wanted or (isinstance(a, int) and a in numbers) for a in answered)
        return not found if op == "!=" else found
    order = _ORDER[op]
    return any(isinstance(a, int) and order(a, values[0]) for a in answered)


def _tokens(text: str) -> Iterator[str]:
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ConditionSyntaxError(f"cannot read {text[position:].strip()!r} in {text!r}")
        yield match.group(match.lastgroup or "word")
        position = match.end()


class _Parser:
    """Recursive descent: or binds loosest, then and, then not."""

    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            wanted = repr(expected) if expected else "more"
            raise ConditionSyntaxError(
                f"expected {wanted} at the end of {self.text!r}"
                if token is None
                else f"expected {wanted}, found {token!r} in {self.text!r}"
            )
        self.at += 1
        return token

    def expression(self) -> Condition:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def conjunction(self) -> Condition:
        parts = [self.factor()]
        while self.peek() == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def factor(self) -> Condition:
        if self.peek() == "not":
            self.take()
            return Not(self.factor())
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        ref = self._ref(self.take())
        op = self.take()
        if op == "in":
            self.take("[")
            values = [self._value(self.take())]
            while self.peek() == ",":
                self.take()
                values.append(self._value(self.take()))
            self.take("]")
            return Compare(ref, op, tuple(values))
        if op not in ("=", "!=", *_ORDER):
            raise ConditionSyntaxError(f"expected a comparison after {ref}, found {op!r}")
        value = self._value(self.take())
        if op in _ORDER and not isinstance(value, int):
            raise ConditionSyntaxError(f"{ref} {op} needs a number, not {value!r}")
        return Compare(ref, op, (value,))

    def _ref(self, token: str) -> Ref:
        if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)?", token) or token in _KEYWORDS:
            raise ConditionSyntaxError(f"expected a question id, found {token!r} in {self.text!r}")
        question, _, row = token.partition(".")
        return Ref(question, row or None)

    def _value(self, token: str) -> Value:
        if token[0] in "\"'":
            return token[1:-1]
        if token in _KEYWORDS or not re.fullmatch(r"[\w.-]+", token):
            raise ConditionSyntaxError(f"expected a value, found {token!r} in {self.text!r}")
        return Numeral(token) if re.fullmatch(r"-?\d+", token) else token
