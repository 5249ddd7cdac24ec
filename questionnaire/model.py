"""A questionnaire: the items an operator goes through, each shown only when its condition holds.

Items are questions of five kinds and texts to read out. Every text has an Italian and an
English version. Answers are JSON values, by kind (see ``questionnaire.answers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from questionnaire.condition import Condition

LANGUAGES = ("it", "en")
YES_NO = ("yes", "no")
"""The answers of a yes/no question, as stored and as conditions name them."""


class Kind(StrEnum):
    """What an item asks for."""

    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # one or more options
    GRID = "grid"  # each item rated on a scale (e.g. 1-4)
    TEXT = "text"  # open text
    YES_NO_BECAUSE = "yes_no_because"  # yes or no, and why
    READ = "read"  # a text the operator reads out; no answer


@dataclass(frozen=True, slots=True)
class Text:
    """One text in every language."""

    it: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.it


@dataclass(frozen=True, slots=True)
class Option:
    """An answer option (or a grid's row) with its code, e.g. ``A``."""

    code: str
    label: Text


@dataclass(frozen=True, slots=True)
class Item:
    """A question, or a text to read out, shown when ``when`` holds (always when None)."""

    id: str
    kind: Kind
    text: Text
    when: Condition | None = None
    options: tuple[Option, ...] = ()
    """Choices of a single or multiple question; the rows of a grid."""
    scale: tuple[int, int] = (1, 4)
    """A grid's lowest and highest rating."""
    scale_labels: tuple[Text, ...] = ()
    """A grid's ratings as read out, lowest first (empty: the numbers alone)."""
    max_choices: int = 0
    """A multiple question's most choices (0: as many as there are options)."""
    because: Text | None = None
    """A yes/no question's follow-up prompt."""

    @property
    def asks(self) -> bool:
        """True for questions, False for texts to read out."""
        return self.kind is not Kind.READ

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """A validated questionnaire (``questionnaire.load``)."""

    id: str
    title: Text
    introduction: Text
    """What the operator says first: who calls, why, anonymity."""
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def questions(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.asks)
