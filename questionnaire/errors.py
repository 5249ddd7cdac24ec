"""Errors that name the question (or the key) at fault."""

from __future__ import annotations

from sampling.errors import ConfigError, SamplingError


class QuestionnaireError(ConfigError):
    """The questionnaire file is invalid; the message names the question or key."""

    what = "questionnaire"


class AnswerError(SamplingError):
    """An answer does not fit its question; the message names the question."""

    def __init__(self, question: str, problem: str) -> None:
        super().__init__(f"answer to {question}: {problem}")
        self.question = question
        self.problem = problem
