"""Retry scheduling: busy, no answer in another part of the day, callbacks, 72 h after abandon."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.selection import (
    OLDEST_SERVED,
    READ_AHEAD,
    READ_EVERY,
    CaseView,
    Offer,
    held_back,
    in_closed_cells,
    offer,
    read_due,
)
from dialer.disposition import Disposition, Outcome, aapor_code
from dialer.schedule.retry import AttemptRecord, RetryPolicy, next_call
from dialer.schedule.window import CallingWindow

ROME = ZoneInfo("Europe/Rome")
POLICY = RetryPolicy()
WINDOW = CallingWindow()


def rome(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


def attempt(when: datetime, outcome: Outcome, **kw: object) -> AttemptRecord:
    return AttemptRecord(when, outcome, **kw)  # type: ignore[arg-type]


MONDAY_10 = rome(2026, 11, 23, 10, 0)


def test_fresh_case_is_called_now_or_at_next_opening() -> None:
    """A case never tried is due now inside the window, else at the next opening."""
    assert MONDAY_10 == next_call([], MONDAY_10, POLICY, WINDOW)
    assert rome(2026, 11, 24, 9, 0) == next_call([], rome(2026, 11, 23, 21, 0), POLICY, WINDOW)


def test_busy_is_retried_after_15_minutes() -> None:
    """A busy number is tried again 15 minutes after the attempt."""
    history = [attempt(MONDAY_10, Outcome.BUSY)]
    assert rome(2026, 11, 23, 10, 15) == next_call(history, MONDAY_10, POLICY, WINDOW)


def test_no_answer_moves_to_another_part_of_the_day() -> None:
    """No answer in the morning: next try in the afternoon; then in the evening."""
    first = [attempt(MONDAY_10, Outcome.NO_ANSWER)]
    second_at = next_call(first, MONDAY_10, POLICY, WINDOW)
    assert rome(2026, 11, 23, 13, 0) == second_at
    assert second_at is not None
    second = [*first, attempt(second_at, Outcome.NO_ANSWER)]
    assert rome(2026, 11, 23, 17, 0) == next_call(second, second_at, POLICY, WINDOW)


def test_no_answer_late_in_the_evening_goes_to_a_new_morning() -> None:
    """No answer at 19:30 (evening): next try tomorrow morning, not tomorrow evening."""
    history = [attempt(rome(2026, 11, 23, 19, 30), Outcome.NO_ANSWER)]
    assert rome(2026, 11, 24, 9, 0) == next_call(history, history[0].started, POLICY, WINDOW)


def test_abandoned_call_is_not_redialled_for_72_hours() -> None:
    """After an abandoned call, even a later busy signal waits out the 72 hours, counted
    from the abandon (17 s after the dial here), not from the dial."""
    history = [
        attempt(MONDAY_10, Outcome.ABANDONED),
    ]
    assert rome(2026, 11, 26, 10, 0) == next_call(history, MONDAY_10, POLICY, WINDOW)
    abandon = MONDAY_10 + timedelta(seconds=17)
    ended = [attempt(MONDAY_10, Outcome.ABANDONED, ended=abandon)]
    assert abandon + timedelta(hours=72) == next_call(ended, MONDAY_10, POLICY, WINDOW)


def test_a_machine_verdict_rests_the_number_24_hours_then_tries_another_part_of_the_day() -> None:
    """Ofcom: after answering-machine detection judged a call a machine, no repeat call within
    24 hours without an operator guaranteed (the verdict may have been a person hung up on).
    At 10:00 on Monday, judged at 10:00:20: not before 10:00:20 on Tuesday, and then in
    another part of the day than the morning tried, as after no answer."""
    judged = MONDAY_10 + timedelta(seconds=20)
    history = [attempt(MONDAY_10, Outcome.MACHINE, ended=judged)]
    assert rome(2026, 11, 24, 13, 0) == next_call(history, MONDAY_10, POLICY, WINDOW)
    one_part = RetryPolicy(day_parts=())
    assert judged + timedelta(hours=24) == next_call(history, MONDAY_10, one_part, WINDOW)
    busy_since = [*history, attempt(MONDAY_10 + timedelta(hours=1), Outcome.BUSY)]
    assert judged + timedelta(hours=24) == next_call(busy_since, MONDAY_10, one_part, WINDOW)


def test_an_answering_machine_the_operator_reached_is_tried_as_after_no_answer() -> None:
    """Detection off (or fooled), the operator codes the machine: AAPOR 3.14 as a machine
    detected, the case stays open and is tried again after the no-answer delay, in another
    part of the day; no 24-hour rest (an operator was on the line)."""
    assert "3.14" == aapor_code(Outcome.CONNECTED, Disposition.ANSWERING_MACHINE)
    reached = attempt(MONDAY_10, Outcome.CONNECTED, disposition=Disposition.ANSWERING_MACHINE)
    assert rome(2026, 11, 23, 13, 0) == next_call([reached], MONDAY_10, POLICY, WINDOW)
    one_part = RetryPolicy(day_parts=())
    assert MONDAY_10 + timedelta(hours=2) == next_call([reached], MONDAY_10, one_part, WINDOW)


def test_callback_is_kept_even_past_max_attempts() -> None:
    """An appointment is honoured at its time, whatever the attempt count."""
    at = rome(2026, 11, 25, 18, 30)
    history = [attempt(MONDAY_10, Outcome.NO_ANSWER)] * 5 + [
        attempt(MONDAY_10, Outcome.CONNECTED, disposition=Disposition.CALLBACK, callback_at=at)
    ]
    assert at == next_call(history, MONDAY_10, POLICY, WINDOW)


@pytest.mark.parametrize(
    "last",
    [
        attempt(MONDAY_10, Outcome.CONNECTED, disposition=Disposition.COMPLETE),
        attempt(MONDAY_10, Outcome.CONNECTED, disposition=Disposition.REFUSAL),
        attempt(MONDAY_10, Outcome.FAILED),
    ],
)
def test_final_results_end_the_case(last: AttemptRecord) -> None:
    """A complete, a refusal or a non-working number is never called again."""
    assert next_call([last], MONDAY_10, POLICY, WINDOW) is None


def test_max_attempts_ends_the_case() -> None:
    """After the maximum number of attempts, the case is not called again."""
    history = [
        attempt(MONDAY_10 + timedelta(days=i), Outcome.NO_ANSWER)
        for i in range(POLICY.max_attempts)
    ]
    assert next_call(history, MONDAY_10 + timedelta(days=9), POLICY, WINDOW) is None


def test_aapor_codes() -> None:
    """Outcomes and dispositions map to their AAPOR codes; a connected call needs a disposition."""
    assert "3.12" == aapor_code(Outcome.BUSY)
    assert "1.1" == aapor_code(Outcome.CONNECTED, Disposition.COMPLETE)
    assert "4.80" == aapor_code(Outcome.CONNECTED, Disposition.OVER_QUOTA)
    with pytest.raises(ValueError, match="disposition"):
        aapor_code(Outcome.CONNECTED)


def test_due_cases_come_callbacks_first_then_retries_then_fresh_numbers_from_emptier_cells() -> (
    None
):
    """Among the cases due now: callbacks due, then retries due, then never-dialled numbers
    from the cell furthest from its target; cases not due yet give the next due time, and a
    case with no call left is set apart."""

    def case(case_id: int, cell: int, *history: AttemptRecord) -> CaseView:
        return CaseView(case_id, f"+39018700000{case_id}", cell, {}, tuple(history))

    earlier = MONDAY_10 - timedelta(hours=1)
    callback = attempt(
        earlier, Outcome.CONNECTED, disposition=Disposition.CALLBACK, callback_at=MONDAY_10
    )
    busy = attempt(earlier, Outcome.BUSY)
    busy_now = attempt(MONDAY_10 - timedelta(minutes=5), Outcome.BUSY)
    refused = attempt(earlier, Outcome.CONNECTED, disposition=Disposition.REFUSAL)
    cases = [
        case(1, 0),  # fresh, cell 0: half full
        case(2, 1),  # fresh, cell 1: empty
        case(3, 0, busy),  # a retry due
        case(4, 1, callback),  # a callback due
        case(5, 1, busy_now),  # busy 5 minutes ago: due in 10
        case(6, 0, refused),  # final
    ]
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.5, 0.0])
    due, exhausted, soonest = read.due, read.exhausted, read.soonest
    assert [4, 3, 2, 1] == [c.case_id for c in due]
    assert [6] == [c.case_id for c in exhausted]
    assert MONDAY_10 + timedelta(minutes=10) == soonest


def test_fresh_numbers_of_one_cell_are_not_dialled_in_number_order() -> None:
    """A frame stores its numbers in number order: 200 consecutive ones of a cell, due
    together, come in a mixed order that is the same at every read (and covers them all)."""
    cases = [CaseView(i, f"+39018700{i:04d}", 0, {}, ()) for i in range(1, 201)]
    first = [c.case_id for c in read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0]).due]
    again = [c.case_id for c in read_due(cases[::-1], MONDAY_10, POLICY, WINDOW, fill=[0.0]).due]
    assert first == again
    assert sorted(first) == list(range(1, 201))
    steps = Counter(b - a for a, b in itertools.pairwise(first))
    assert steps[1] + steps[-1] < 10  # in id order: all 199
    assert steps.most_common(1)[0][1] < 10  # no stride (Knuth's hash: +89 111 times)


def test_cases_due_in_a_closed_cell_are_set_apart() -> None:
    """A case left released in a cell that closed under its call (a crash's recovery coded
    the call congestion): due, but never to be dialled there; set apart, so that the cells
    still open get their sample."""
    cases = [CaseView(i, f"+39018700000{i}", cell, {}, ()) for i, cell in ((1, 0), (2, 1))]
    due, barred = in_closed_cells(cases, ["2026-11-24T07:43:11+00:00", None])
    assert ([2], [1]) == ([c.case_id for c in due], [c.case_id for c in barred])


def test_a_case_held_by_an_operator_is_neither_due_nor_exhausted() -> None:
    """A case whose callee hung up on its last allowed attempt while the operator is still
    on the interview (no disposition yet) is left to that disposition: not finished as
    exhausted under the operator (whose disposition then failed and left the campaign
    waiting for it for ever), not dialled, and not the next due time."""
    earlier = MONDAY_10 - timedelta(hours=1)
    unanswered = [attempt(earlier - timedelta(hours=n), Outcome.NO_ANSWER) for n in range(5, 0, -1)]
    held = (*unanswered, attempt(earlier, Outcome.CONNECTED))  # the 6th: no disposition yet
    retry = (attempt(MONDAY_10 - timedelta(minutes=5), Outcome.BUSY),)
    cases = [CaseView(7, "+390187000007", 0, {}, held), CaseView(8, "+390187000008", 0, {}, retry)]
    assert POLICY.max_attempts == len(held)
    exhausted = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0]).exhausted
    assert [7] == [c.case_id for c in exhausted]  # as the tick saw it before
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0], busy={7, 8})
    assert ([], [], None) == (read.due, read.exhausted, read.soonest)
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0], busy={7})
    assert ([], [], MONDAY_10 + timedelta(minutes=10)) == (read.due, read.exhausted, read.soonest)


def test_a_read_of_due_cases_serves_the_next_ticks_without_the_cases_taken_since() -> None:
    """The cases read at one tick serve the ticks of the next 5 s: a case dialled since, or
    on a call now, is left out; after 5 s (or a clock stepped back) the read is old. Its
    next due time holds only while every case dialled or busy since the read still is."""
    retry = (attempt(MONDAY_10 - timedelta(minutes=5), Outcome.BUSY),)  # due in 10 minutes
    finished = (attempt(MONDAY_10, Outcome.CONNECTED, disposition=Disposition.REFUSAL),)
    cases = [
        CaseView(1, "+390187000001", 0, {}, ()),
        CaseView(2, "+390187000002", 0, {}, ()),
        CaseView(3, "+390187000003", 0, {}, retry),
        CaseView(4, "+390187000004", 0, {}, finished),
        CaseView(5, "+390187000005", 0, {}, ()),  # on a call at the read
    ]
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0], busy={5})
    assert [1, 2] == sorted(c.case_id for c in read.remaining(busy=set()))
    assert ([4], [1, 2, 3, 5]) == ([c.case_id for c in read.exhausted], _ids(read.left))
    assert MONDAY_10 + timedelta(minutes=10) == read.soonest
    read.taken.add(1)  # dialled at the next tick
    assert [2] == _ids(read.remaining(busy={1}))
    assert [] == _ids(read.remaining(busy={2}))
    assert read.fresh(MONDAY_10 + timedelta(seconds=4.9))
    assert not read.fresh(MONDAY_10 + timedelta(seconds=5))
    assert not read.fresh(MONDAY_10 - timedelta(seconds=1))
    assert read.complete(busy={1, 5})  # both still on their calls
    assert not read.complete(busy={5})  # 1's call ended: it may need a retry
    assert not read.complete(busy={1})  # so may 5's, on a call at the read


def test_a_tick_reads_again_when_the_read_is_old_empty_or_blind_to_a_call_ended() -> None:
    """No read, an old one, or a clock stepped back: read again. A read with due cases left
    serves; with none left it serves for a second, and when the campaign is going idle
    only if it knows every case's next call (a call ended since it may need a retry). An
    old read's cases serve until the next lands, but nothing is decided by it."""
    retry = (attempt(MONDAY_10 - timedelta(minutes=5), Outcome.BUSY),)
    cases = [CaseView(1, "+390187000001", 0, {}, ()), CaseView(3, "+390187000003", 0, {}, retry)]
    soon = MONDAY_10 + timedelta(seconds=0.5)
    assert Offer([], False, True) == offer(None, MONDAY_10, set(), idle=False)
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0])
    assert [1] == _ids(offer(read, soon, set(), idle=False).cases)
    assert offer(read, soon, set(), idle=False)[1:] == (True, False)  # settled, no read yet
    old = offer(read, MONDAY_10 + timedelta(seconds=5), set(), idle=False)
    assert ([1], False, True) == (_ids(old.cases), old.settled, old.read_next)
    assert Offer([], False, True) == offer(read, MONDAY_10 + OLDEST_SERVED, set(), idle=False)
    assert offer(read, MONDAY_10 + READ_EVERY - READ_AHEAD, set(), idle=False)[1:] == (True, True)
    assert offer(read, MONDAY_10 - timedelta(seconds=1), set(), idle=False)[1:] == (False, True)
    read.taken.add(1)  # dialled: none left
    assert Offer([], True, False) == offer(read, soon, {1}, idle=False)  # calls out: wait
    assert Offer([], False, True) == offer(read, MONDAY_10 + timedelta(seconds=1), {1}, False)
    assert Offer([], False, True) == offer(read, soon, set(), idle=True)  # 1's call ended
    quiet = read_due(cases[1:], MONDAY_10, POLICY, WINDOW, fill=[0.0])  # idle, none due
    assert Offer([], True, False) == offer(quiet, soon, set(), idle=True)  # 3: due in 10 min


def test_a_read_that_lands_after_a_call_it_left_out_ended_decides_nothing() -> None:
    """Case 1 was on its last call as the read began, and nothing else is left: the read
    knows no next call. Landed with the campaign idle (the call ended, a retry may be due),
    it may neither finish the campaign nor release more: the next read decides."""
    cases = [CaseView(1, "+390187000001", 0, {}, ())]
    read = read_due(cases, MONDAY_10, POLICY, WINDOW, fill=[0.0], busy={1})
    assert (read.due, read.soonest, read.exhausted) == ([], None, [])
    assert Offer([], False, True) == offer(read, MONDAY_10 + timedelta(seconds=0.3), set(), True)
    assert Offer([], True, False) == offer(read, MONDAY_10 + timedelta(seconds=0.3), {1}, False)


def test_a_case_taken_from_a_read_is_dialled_only_if_still_due() -> None:
    """A no-answer at 14:00 one day is retried in another part of the day: due at 12:59:58
    the next day, not at 13:00:02. Taking it out of the read leaves it out either way."""
    no_answer = (attempt(rome(2026, 11, 23, 14, 0), Outcome.NO_ANSWER),)
    case = CaseView(9, "+390187000009", 0, {}, no_answer)
    before = rome(2026, 11, 24, 12, 59) + timedelta(seconds=58)
    read = read_due([case], before, POLICY, WINDOW, fill=[0.0])
    assert [9] == _ids(read.due)
    assert [9] == _ids(
        read_due([case], before, POLICY, WINDOW, [0.0]).take([case], before, POLICY, WINDOW)
    )
    assert [] == read.take([case], before + timedelta(seconds=4), POLICY, WINDOW)
    assert [] == read.remaining(set())


def _ids(cases: list[CaseView]) -> list[int]:
    return [c.case_id for c in cases]


def test_held_back_counts_per_cell_the_cases_not_callable_before_a_time() -> None:
    """Cases quiet after an abandoned call, or with a retry after ``until``, are held back
    in their cell; cases due by then and exhausted cases are not."""
    earlier = MONDAY_10 - timedelta(hours=1)
    abandoned = (attempt(earlier, Outcome.ABANDONED),)
    busy_now = (attempt(MONDAY_10, Outcome.BUSY),)  # due again in 15 minutes
    refused = (attempt(earlier, Outcome.CONNECTED, disposition=Disposition.REFUSAL),)
    cases = [
        CaseView(1, "+390187000001", 0, {}, abandoned),
        CaseView(2, "+390187000002", 1, {}, abandoned),
        CaseView(3, "+390187000003", 1, {}, abandoned),
        CaseView(4, "+390187000004", 1, {}, busy_now),
        CaseView(5, "+390187000005", 2, {}, ()),
        CaseView(6, "+390187000006", 2, {}, refused),
    ]
    in_5_min = MONDAY_10 + timedelta(minutes=5)
    assert [1, 3, 0] == held_back(cases, MONDAY_10, in_5_min, POLICY, WINDOW, cells=3)
    in_20_min = MONDAY_10 + timedelta(minutes=20)
    assert [1, 2, 0] == held_back(cases, MONDAY_10, in_20_min, POLICY, WINDOW, cells=3)
    # ``until`` at night, the window closed: only the 72 hours of quiet go past it
    tonight = rome(2026, 11, 23, 23, 0)
    assert [1, 2, 0] == held_back(cases, MONDAY_10, tonight, POLICY, WINDOW, cells=3)
    in_3_days = MONDAY_10 + timedelta(days=3, hours=1)
    assert [0, 0, 0] == held_back(cases, MONDAY_10, in_3_days, POLICY, WINDOW, cells=3)
