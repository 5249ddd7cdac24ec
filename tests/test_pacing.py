"""Pacers, quota-aware spreading and call statistics (pure), and the simulator's rules."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from dialer.call.state import Answered, Ringing, SeatJoined, new_call, transition
from dialer.campaign.pace import calls_out, cell_needs, snapshot_of, to_dial
from dialer.campaign.selection import CaseView
from dialer.cli import main
from dialer.disposition import Disposition, Outcome
from dialer.pacing import stats as stats_module
from dialer.pacing.cells import CellNeed, room, spread
from dialer.pacing.issabel import Issabel
from dialer.pacing.predictive import Predictive, _overflow, _seat_times, safe_rate
from dialer.pacing.progressive import Progressive
from dialer.pacing.registry import make_pacer
from dialer.pacing.snapshot import GRACE_S, Snapshot
from dialer.pacing.stats import CallStats
from dialer.pacing.vicidial import Vicidial
from dialer.schedule.retry import AttemptRecord
from dialer.seats import SeatBoard, line_lost, log_in, pause, take
from dialer.simulate.engine import (
    PAUSED,
    TALK,
    WRAP,
    Simulation,
    _seen_at,
    simulate,
    worst_window,
)
from dialer.simulate.oracle import _take, simulated_pacer
from dialer.simulate.scenario import Scenario, ScenarioError, load_scenario
from dialer.store.quotas import CellCounts
from sampling.survey import Survey
from tests.conftest import REPO


def test_spread_follows_need_over_yield_and_caps_calls_out() -> None:
    """Cells get launches by dials still needed; a cell whose calls out already cover its
    remaining completes gets none; the total never exceeds what the cells can use."""
    cells = [
        CellNeed(remaining=10, per_dial=0.1, in_flight=0, available=500),  # needs 100 dials
        CellNeed(remaining=10, per_dial=0.2, in_flight=0, available=500),  # needs 50
        CellNeed(remaining=2, per_dial=0.1, in_flight=20, available=500),  # covered
        CellNeed(remaining=0, per_dial=0.1, in_flight=0, available=500),  # full
    ]
    assert [20, 10, 0, 0] == spread(30, cells)
    assert [100, 50, 0, 0] == spread(1000, cells)


def test_spread_gives_what_whole_shares_leave_to_the_lowest_cell_of_equals() -> None:
    cell = CellNeed(remaining=1, per_dial=1.0, in_flight=0, available=1)
    assert [1, 0] == spread(1, [cell, cell])
    assert [1, 1, 0] == spread(2, [cell, cell, cell])
    assert [0, 1, 1] == spread(2, [cell._replace(remaining=0), cell, cell])


def test_spread_respects_the_numbers_left() -> None:
    cells = [CellNeed(5, 0.1, 0, 3), CellNeed(5, 0.1, 0, 100)]
    given = spread(20, cells)
    assert 3 == given[0]
    assert 20 == sum(given)


def test_a_cells_calls_out_expect_no_more_completes_than_it_needs() -> None:
    """One complete to go at a yield of 0.3: three calls out (0.9 expected), not four (1.2);
    a cell with any to go still gets a call, whatever its yield."""
    assert 3 == room(CellNeed(1, 0.3, 0, 100))
    assert 1 == room(CellNeed(1, 1.0, 0, 100))
    assert 0 == room(CellNeed(1, 0.3, 3, 100))


def test_stats_answer_chance_given_ring_time() -> None:
    """Of dials still unresolved after r seconds, the share a person answered later."""
    stats = CallStats()
    for ring, answered in [(5, True), (10, True), (20, False), (25, False)]:
        stats.dial_ended(ring, answered)
    chance = stats.answer_chance(np.array([0.0, 6.0, 12.0]))
    assert [0.5, 1 / 3, 0.0] == pytest.approx(chance.tolist())
    by = stats.answer_chance_by(np.array([0.0]), np.array([6.0, 30.0]))
    assert [0.25, 0.5] == pytest.approx(by[0].tolist())


def test_stats_count_the_calls_still_going_as_at_risk() -> None:
    """Kaplan-Meier: with four 10 s calls ended and four still going at 30 s, half the calls
    outlast 10 s; from the ended ones alone, none would."""
    ended, mixed = CallStats(), CallStats()
    for stats in (ended, mixed):
        for _ in range(4):
            stats.talk_ended(10.0)
    within = np.array([10.0])
    assert 1.0 == ended.talk_ends_by(np.array([5.0]), within)[0, 0]
    assert 0.5 == pytest.approx(mixed.talk_ends_by(np.array([5.0, *[30.0] * 4]), within)[0, 0])


def test_stats_outlook_keeps_the_abandons_while_answers_leave() -> None:
    """Ten answers at 0-9 s, the last abandoned, in a 100 s window: 55 s on, five answers
    are left in the window and the abandon with them."""
    stats = CallStats(window_s=100)
    for i in range(10):
        stats.live_answer(float(i), abandoned=i == 9)
    abandons, answers = stats.outlook(50.0, np.array([0.0, 55.0, 200.0]))
    assert [1, 1, 0] == abandons.tolist()
    assert [10, 5, 0] == answers.tolist()


def test_stats_window_survives_buffer_compaction() -> None:
    """Thousands of answers through a short window: counts stay those of the window."""
    stats = CallStats(window_s=100)
    for i in range(5000):
        stats.live_answer(float(i), abandoned=i % 50 == 0)
    assert (2, 101) == stats.window(4999.0)


def test_stats_window_counts_as_a_plain_count_would() -> None:
    """Answers at random gaps (bursts, lulls longer than the window), buffers compacted and
    grown on the way: every window's counts and outlook are those of counting afresh."""
    rng = random.Random(7)
    stats, seen, now = CallStats(window_s=100), [], 0.0
    for _ in range(6000):
        now += rng.choice((0.0, 0.1, 1.0, 5.0, 150.0 if rng.random() < 0.01 else 2.0))
        abandoned = rng.random() < 0.05
        stats.live_answer(now, abandoned)
        seen.append((now, abandoned))
        kept = [a for t, a in seen if t >= now - 100]
        assert (sum(kept), len(kept)) == stats.window(now)
    ahead = np.array([0.0, 30.0, 99.0])
    abandons, answers = stats.outlook(now, ahead)
    for i, a in enumerate(ahead):
        later = [x for t, x in seen if t >= now + a - 100]
        assert (sum(later), len(later)) == (abandons[i], answers[i])


def test_stats_take_unanswered_dials_in_one_call_as_one_by_one() -> None:
    """The simulator files a tick's unanswered dials at once: the same figures as each
    filed alone, past the kept sample's wrap-around too."""
    rng = random.Random(4)
    one_by_one, batched = CallStats(keep=100), CallStats(keep=100)
    for _ in range(30):
        rings = [rng.uniform(1.0, 40.0) for _ in range(rng.randint(0, 12))]
        answered = rng.uniform(2.0, 20.0)
        for ring in rings:
            one_by_one.dial_ended(ring, answered=False)
        batched.unanswered(rings)
        one_by_one.dial_ended(answered, answered=True)
        batched.dial_ended(answered, answered=True)
    assert one_by_one.dials_total == batched.dials_total > 100
    assert one_by_one.finished_dials == batched.finished_dials == 100
    assert one_by_one.mean_dial() == batched.mean_dial()
    assert one_by_one.answer_rate() == batched.answer_rate() > 0
    seat_times = _seat_times(GRACE_S)
    assert one_by_one.answer_table(seat_times).tolist() == batched.answer_table(seat_times).tolist()


def test_stats_window_drops_old_answers() -> None:
    stats = CallStats(window_s=60)
    stats.live_answer(0.0, abandoned=True)
    stats.live_answer(30.0, abandoned=False)
    assert (1, 2) == stats.window(59.0)
    assert (0, 1) == stats.window(61.0)


def test_stats_count_a_machine_verdict_as_its_estimated_share_of_an_abandon() -> None:
    """Ofcom counts answering-machine detection's false positives as abandons: with an
    estimate that a tenth of machine verdicts were people, each verdict adds a tenth of a
    live answer and of an abandon to the window, through compaction and as it leaves; the
    totals and the last minute (VICIdial's counts) stay those of the calls answered. A
    verdict recalled from the store counts the share it was counted as then (a fifth here).
    The supervisors' count of verdicts and their people is kept to the minute."""
    rng = random.Random(11)
    stats, seen, now = CallStats(window_s=100, machine_people=0.1), [], 0.0
    for _ in range(5000):
        now += rng.choice((0.0, 0.5, 2.0, 150.0 if rng.random() < 0.01 else 1.0))
        if rng.random() < 0.4:
            share = rng.choice((0.1, 0.2))
            stats.machine_verdict(now, None if share == 0.1 else share)
            seen.append((now, share, share))
        else:
            abandoned = rng.random() < 0.05
            stats.live_answer(now, abandoned)
            seen.append((now, float(abandoned), 1.0))
        kept = [(a, n) for t, a, n in seen if t >= now - 100]
        abandons, answers = stats.window(now)
        assert sum(a for a, _ in kept) == pytest.approx(abandons)
        assert sum(n for _, n in kept) == pytest.approx(answers)
        minutes = [n for t, _, n in seen if n < 1.0 and t // 60 * 60 + 60 > now - 100]
        verdicts, counted = stats.machine_window(now)
        assert len(minutes) == verdicts
        assert sum(minutes) == pytest.approx(counted)
    ahead = np.array([0.0, 30.0, 99.0])
    abandons_ahead, answers_ahead = stats.outlook(now, ahead)
    for i, a in enumerate(ahead):
        later = [(x, n) for t, x, n in seen if t >= now + a - 100]
        assert sum(x for x, _ in later) == pytest.approx(abandons_ahead[i])
        assert sum(n for _, n in later) == pytest.approx(answers_ahead[i])
    people = [x for _, x, n in seen if n == 1.0]  # answers, not verdicts
    assert (len(people), sum(people)) == (stats.answers_total, stats.abandons_total)
    minute = [x for t, x, n in seen if n == 1.0 and t >= now - 60]
    assert (len(minute), sum(minute)) == stats.last_minute(now)


def test_a_live_answer_that_was_a_machine_leaves_the_window() -> None:
    """The operator coded a machine: the answer counted at its connection comes out of the
    window, its outlook and the totals; the abandons stay. One that has left the window
    already changes only the totals."""
    stats = CallStats(window_s=100)
    for t in range(10):
        stats.live_answer(float(t), abandoned=t == 7)
    stats.retract_answer(4.0)
    assert (1, 9) == stats.window(50.0)
    abandons, answers = stats.outlook(50.0, np.array([0.0, 54.5, 57.5]))
    assert ([1, 1, 0], [9, 5, 2]) == (abandons.tolist(), answers.tolist())
    assert 9 == stats.answers_total
    stats.live_answer(150.0, abandoned=False)
    stats.retract_answer(4.0)
    assert ((0, 1), 9) == (stats.window(150.0), stats.answers_total)


def test_stats_without_an_estimate_count_machine_verdicts_apart() -> None:
    stats = CallStats(window_s=60)
    stats.live_answer(0.0, abandoned=False)
    stats.machine_verdict(1.0)
    stats.machine_verdict(2.0)
    assert (0, 1) == stats.window(10.0)
    assert (2, 0.0) == stats.machine_window(10.0)
    stats.machine_verdict(130.0)
    assert (1, 0.0) == stats.machine_window(135.0)
    assert 3 == stats.machine_verdicts_total


def test_live_snapshot_leaves_out_seats_that_will_not_come_back() -> None:
    """Of three seats on a call, one asked for a pause after it and one lost its line: the
    pacer counts only the third as freeing, and the first as paused."""
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    board = SeatBoard()
    for i, seat in enumerate(("7001", "7002", "7003")):
        board, _ = take(log_in(board, seat, t0), f"c{i}", t0)
    board = line_lost(pause(board, "7001", "break", t0), "7002")
    snap = snapshot_of(t0 + timedelta(seconds=30), board, [], {}, 100, CallStats(), GRACE_S)
    assert ([30.0], 1) == (snap.talk_elapsed.tolist(), snap.paused)


def _case(case_id: int, cell: int, callback: bool = False) -> CaseView:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    history = (AttemptRecord(t0, Outcome.CONNECTED, Disposition.CALLBACK, t0),) if callback else ()
    return CaseView(case_id, f"+39018700{case_id:04d}", cell, {}, history)


def test_calls_out_leave_out_callees_already_in_a_seat() -> None:
    """A seated callee's interview is reserved in its cell (in progress): only calls not yet
    in a seat count as out, as the simulator counts them."""
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    ringing = transition(new_call("r", 1, t0), Ringing(t0))[0]
    waiting = transition(ringing._replace(call_id="w"), Answered(t0, "Local/w;1"))[0]
    seated = transition(waiting._replace(call_id="s"), SeatJoined(t0, "7001"))[0]
    calls = {c.call_id: c for c in (ringing, waiting, seated)}
    cases = {"r": _case(1, 0), "w": _case(2, 1), "s": _case(3, 2), "gone": _case(4, 3)}
    assert [0, 1] == calls_out(cases, calls)


def test_the_live_dialer_shares_its_calls_over_cells_as_the_simulator_does() -> None:
    """12 calls for two cells, each 10 completes short: the one yielding 0.1 per number gets
    10, the one yielding 0.5 gets 2 (the dials each still needs), though the due order (the
    emptier cell first) lists the second's numbers first. A callback goes first, wherever
    it ranks, while its cell has room for calls out."""
    needs = [CellNeed(10, 0.1, 0, 0), CellNeed(10, 0.5, 0, 0)]
    due = [_case(100 + i, 1) for i in range(50)] + [_case(200 + i, 0) for i in range(50)]
    chosen = to_dial(12, due, needs)
    assert (10, 2) == (sum(c.cell == 0 for c in chosen), sum(c.cell == 1 for c in chosen))
    assert [100, 101] == [c.case_id for c in chosen if c.cell == 1]  # each cell's in due order
    callback = _case(300, 1, callback=True)
    assert callback == to_dial(12, [*due, callback], needs)[0]
    full = [CellNeed(10, 0.1, 0, 0), CellNeed(1, 0.5, 2, 0)]  # 2 calls out cover 1 complete
    assert callback not in to_dial(12, [*due, callback], full)


def test_cells_yield_per_dial_for_their_calls_out(survey: Survey) -> None:
    """Two cells with 5 completes from 10 finished numbers each; one took 100 dials to get
    there, the other 10. A call out's expected completes are the yield per dial, so the
    first may have more calls out: per number, both looked alike and the first was held to
    a few calls near its target."""
    two = np.array([10, 10])
    counts = CellCounts(
        population=two * 10, target=two, completes=two * 0, in_progress=two * 0,
        released=two, finished=two, frame_completes=two // 2, available=two, withdrawn=two * 0,
        frame_total=two * 10, closed_at=(None, None),
    )  # fmt: skip
    needs = cell_needs(counts, survey, [0], np.array([100, 10]))
    s, p = survey.yield_prior.strength, survey.yield_prior.prior
    assert needs[0].per_dial == pytest.approx((5 + s * p) / (100 + s))
    assert needs[1].per_dial == pytest.approx((5 + s * p) / (10 + s))
    assert (10, 1, 0) == (needs[0].remaining, needs[0].in_flight, needs[1].in_flight)


def test_progressive_keeps_one_call_per_free_seat() -> None:
    snap = Snapshot(now=0.0, free=5, ring_elapsed=np.array([1.0, 2.0]), waiting=1)
    assert 2 == Progressive().launch(snap)


def _warm_stats(
    answers: int = 40,
    abandoned: int = 0,
    dials: int = 300,
    talks: int = 50,
    wrap: float | None = 10.0,
) -> CallStats:
    """Recent history; ``wrap`` None: no wrap-up ended yet."""
    stats = CallStats(window_s=3600)
    for i in range(dials):
        stats.dial_ended(8.0 if i % 3 == 0 else 25.0, answered=i % 3 == 0)
    for _ in range(talks):
        stats.talk_ended(120.0)
        if wrap is not None:
            stats.wrap_ended(wrap)
    for i in range(answers):
        stats.live_answer(10.0 * i, abandoned=i < abandoned)
    return stats


def test_predictive_overdials_only_what_seats_can_take() -> None:
    """With seats about to free (their talk over in 1 s, their wrap-up 5 s later, before a
    new call's person answers at 8 s), predictive launches more than progressive; with every
    seat early in a long call, no more than progressive."""
    stats = _warm_stats(wrap=5.0)
    ending = Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 119.0), stats=stats)
    starting = Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 1.0), stats=stats)
    progressive = Progressive().launch(ending)
    assert Predictive().launch(ending) > progressive + 8
    assert progressive == Predictive().launch(dataclasses.replace(starting))


def test_predictive_plans_with_the_dialers_cut_off() -> None:
    """Seats free 10 s from now (talk over in 5 s, then 5 s of wrap-up) and new calls'
    persons answer at 8 s: a callee answered by the 9-s horizon still gets one of those
    seats with the 1.5 s cut-off, not with machine detection's 0.7 s, and the pacer
    launches for them only in the first case."""
    stats = _warm_stats(wrap=5.0)
    snap = Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 115.0), stats=stats)
    progressive = Progressive().launch(snap)
    assert Predictive().launch(snap) > progressive + 8
    assert progressive == Predictive().launch(dataclasses.replace(snap, grace_s=0.7))


def test_predictive_adds_at_most_a_tenth_of_the_calls_out_at_once() -> None:
    """290 seats about to free and nothing out: the first decision launches 30 calls (a
    tenth of the seats), not the hundreds the forecast asks for."""
    stats = _warm_stats(answers=400, dials=900, talks=200, wrap=5.0)  # past a 300-seat warm-up
    snap = Snapshot(now=4000.0, free=10, talk_elapsed=np.full(290, 119.0), stats=stats)
    assert 30 == Predictive().launch(snap)


def test_the_ramp_holds_per_second_however_often_the_pacer_is_asked() -> None:
    """The live dialer asks four times a second, the simulator once: four decisions within a
    second launch no more together than one would (30 calls for 290 seats about to free)."""
    stats = _warm_stats(answers=400, dials=900, talks=200, wrap=5.0)
    pacer, out = Predictive(), 0
    for k in range(4):
        out += pacer.launch(
            Snapshot(
                now=4000.0 + k / 4, free=10, talk_elapsed=np.full(290, 119.0),
                ring_elapsed=np.full(out, k / 4), stats=stats,
            )
        )  # fmt: skip
    assert 30 == out
    stepped_back = Snapshot(  # the clock stepped back an hour: the last second is not "now"
        now=400.0, free=10, talk_elapsed=np.full(290, 119.0), ring_elapsed=np.full(out, 1.0),
        stats=stats,
    )  # fmt: skip
    assert 0 < pacer.launch(stepped_back)


def test_predictive_warms_up_past_500_seats() -> None:
    """The statistics keep the last 1,000 dials and 500 talks; a 600-seat floor's warm-up
    (twice the seats in dials) counts every dial, so it ends, and the pacer dials ahead."""
    stats = _warm_stats(answers=400, dials=1500, talks=600, wrap=5.0)
    snap = Snapshot(now=4000.0, free=10, talk_elapsed=np.full(590, 119.0), stats=stats)
    assert 1000 == stats.finished_dials
    assert Predictive().launch(snap) > Progressive().launch(snap)


def test_a_clock_stepped_back_gives_times_since_of_zero_not_negative() -> None:
    """A negative ring time read the answer table from its end: a call just out looked
    past all chance of an answer, and the pacer dialled more to make up for it."""
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    board, _ = take(log_in(SeatBoard(), "7001", t0), "c0", t0)
    ringing = transition(new_call("c1", 1, t0), Ringing(t0))[0]
    snap = snapshot_of(t0 - timedelta(seconds=30), board, [ringing], {}, 100, CallStats(), GRACE_S)
    assert ([0.0], [0.0]) == (snap.ring_elapsed.tolist(), snap.talk_elapsed.tolist())


def test_predictive_falls_back_near_the_cap() -> None:
    """A window already past the cap's edge gets progressive pacing, whatever the forecast."""
    stats = _warm_stats(answers=40, abandoned=2)  # 5% over the last 40 answers
    snap = Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 119.0), stats=stats)
    assert Progressive().launch(snap) == Predictive().launch(snap)


def test_predictive_counts_machine_verdicts_estimated_people_toward_the_cap() -> None:
    """No callee abandoned, but detection hung up on 30 machines, a tenth of them estimated
    people: 3 abandons in 43 live answers (7%, past the cap), so no overdial. With no
    estimate the same window overdials."""
    snaps = []
    for share in (0.0, 0.1):
        stats = _warm_stats(wrap=5.0)
        stats.machine_people = share
        for i in range(30):
            stats.machine_verdict(10.0 * i)
        snaps.append(Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 119.0), stats=stats))
    plain, estimated = snaps
    assert Predictive().launch(plain) > Progressive().launch(plain)
    assert (3, 43) == tuple(round(x) for x in estimated.stats.window(400.0))
    assert Predictive().launch(estimated) == Progressive().launch(estimated)


def test_predictive_stays_progressive_until_it_has_seen_a_wrap_up() -> None:
    """No wrap-up known (operators pressed Ready before any timer ended) is not "no
    wrap-up needed": without one the pacer would count a seat free as its talk ends."""
    stats = _warm_stats(wrap=None)
    snap = Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 119.0), stats=stats)
    assert Progressive().launch(snap) == Predictive().launch(snap)
    stats.wrap_ended(5.0)
    assert Predictive().launch(snap) > Progressive().launch(snap)


def test_steering_counts_at_most_a_few_seconds_of_a_long_gap() -> None:
    """Asked again after a night with the window over its target, the pacer lowers its gain
    by one short step, not to its floor."""
    pacer = Predictive()
    pacer._steer(0.0, rate=0.02, target=0.01, answers=100)
    gain = pacer._steer(12 * 3600.0, rate=0.02, target=0.01, answers=100)
    assert gain > 0.9


def test_safe_rate_of_a_large_window_stays_near_the_cap() -> None:
    """Thousands of allowed abandons (a large team's 24 h window): the term-by-term Poisson
    sum underflowed past a mean of 745 and the rate collapsed to a small fraction of it."""
    for answers in (40_000, 100_000, 1_000_000):
        assert 0.025 < safe_rate(0.03, answers, 0.005) < 0.03
    below, above = safe_rate(0.03, 13_300, 0.005), safe_rate(0.03, 13_400, 0.005)
    assert below == pytest.approx(above, rel=0.01)  # the two sums agree where they meet


def test_stats_hold_a_clock_stepped_back() -> None:
    """An answer stamped before the last one (the clock stepped back) counts in the window
    as at the latest time: the window's times stay in order."""
    stats = CallStats(window_s=100)
    for at, abandoned in ((1000.0, False), (1050.0, False), (900.0, True), (1060.0, False)):
        stats.live_answer(at, abandoned)
    assert (1, 4) == stats.window(1060.0)
    assert (1, 3) == stats.window(1140.0)  # the stepped-back abandon counts as at 1050


def test_the_target_shown_is_the_one_the_pacer_steers_to() -> None:
    """A small window gets a target below the nominal one, and that is what the pacer
    reports for the supervisors' target line; progressive aims at no abandons."""
    pacer = Predictive()
    assert pacer.target == pacer.aiming
    stats = _warm_stats()  # 40 answers in the window
    pacer.launch(Snapshot(now=400.0, free=2, talk_elapsed=np.full(8, 119.0), stats=stats))
    assert 0 < pacer.aiming < pacer.target
    assert 0.0 == Progressive().aiming


def test_safe_rate_is_lower_for_small_windows() -> None:
    """One abandon weighs more among 70 answers than among 4,000."""
    small, large = safe_rate(0.03, 70, 0.02), safe_rate(0.03, 4000, 0.02)
    assert small < large < 0.03


def test_safe_rate_counts_bursts_of_abandons() -> None:
    """Abandons that come two at a time leave less room than single ones in a window."""
    assert safe_rate(0.03, 300, 0.005, burst=2.0) < safe_rate(0.03, 300, 0.005)


def test_expected_overflow_keeps_a_margin_over_the_normal_in_its_tail() -> None:
    """The expected overflow is the normal's with Page's tanh CDF (as the pacer was tuned):
    above the exact normal's past 1.9 sigmas below zero, within 1% of it closer in."""
    rng = np.random.default_rng(5)
    mu, var = rng.uniform(-40.0, 10.0, 2000), rng.uniform(0.05, 120.0, 2000)
    table = _overflow(mu[:, None], var[:, None])
    for m, v, got in zip(mu.tolist(), var.tolist(), table.tolist(), strict=True):
        sigma = math.sqrt(v)
        z = m / sigma
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        tanh_cdf = 0.5 * (1.0 + math.tanh(z * (0.7978845608 + 0.0356774081 * z * z)))
        exact_cdf = 0.5 * math.erfc(-z / math.sqrt(2))
        assert got == pytest.approx(sigma * pdf + m * tanh_cdf, rel=1e-9, abs=1e-12)
        exact = sigma * pdf + m * exact_cdf
        assert got >= exact if z <= -1.9 else got == pytest.approx(exact, rel=0.01)
    rows = _overflow(np.array([[-3.0, 1.0], [0.0, -9.0]]), np.array([[1.0, 1.0], [4.0, 1.0]]))
    assert rows.tolist() == pytest.approx([1.0832, 0.7979], abs=1e-4)  # the worst of each row


def test_mean_talk_counts_the_calls_still_going() -> None:
    """Ten 40-s refusals ended while four interviews are 300 s in: the ended ones alone say
    40 s; counting the four as at risk, the mean is at least what they have already run."""
    stats = CallStats()
    for _ in range(10):
        stats.talk_ended(40.0)
    assert 40.0 == pytest.approx(stats.mean_talk())
    with_ongoing = stats.mean_talk_with(np.full(4, 300.0))
    assert with_ongoing > 4 * 300.0 / 14
    assert 40.0 == pytest.approx(stats.mean_talk_with(np.array([])))


def test_vicidial_adapts_its_level_every_15_s() -> None:
    """Half the agents ready on average over the last 15 samples: the level rises by 50%;
    calls placed are round(level x agents) less the calls already out."""
    pacer = Vicidial()
    snap = Snapshot(now=0.0, free=5, talk_elapsed=np.full(5, 30.0))
    for second in range(16):
        pacer.launch(dataclasses.replace(snap, now=float(second)))
    assert 1.5 == pytest.approx(pacer.level)
    placed = pacer.launch(dataclasses.replace(snap, now=17.5, ring_elapsed=np.ones(2)))
    assert round(1.5 * 10) - (2 + 5) == placed


@pytest.mark.parametrize(
    ("method", "level"),
    [
        ("ADAPT_TAPERED", 3.0 * 0.6),  # cut by (2100 - 1500) / 1000 at 15:00
        ("ADAPT_AVERAGE", 3.0 / 2),
        ("ADAPT_HARD_LIMIT", 1.0),
    ],
)
def test_vicidial_cuts_its_level_when_the_days_drops_exceed_3_percent(
    method: str, level: float
) -> None:
    """At 15:00 with 5% drops today (and no agent ready), each dial method's own cut."""
    stats = CallStats()
    for _ in range(60):
        stats.dial_ended(10.0, answered=True)
    for i in range(100):
        stats.live_answer(float(i), abandoned=i < 5)
    pacer = Vicidial(level=3.0, dial_method=method)
    six_hours = 6 * 3600.0
    snap = Snapshot(now=six_hours, free=0, talk_elapsed=np.full(10, 30.0), stats=stats)
    pacer._next_adapt = six_hours
    pacer.launch(snap)
    assert level == pytest.approx(pacer.level)


def test_vicidial_places_calls_every_2_5_s() -> None:
    """On the simulator's 1-s ticks, calls go out at 0, 3, 5, 8, 10...: every 2.5 s on
    average (VICIdial's loop), not every 3 s."""
    pacer = Vicidial()
    placing = [
        t for t in range(31) if pacer.launch(Snapshot(now=float(t), free=5, stats=CallStats()))
    ]
    assert [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30] == placing


def test_vicidial_halves_its_level_on_half_the_minutes_calls_dropped_not_answers() -> None:
    """13 drops among 25 answers but hundreds of calls in the last minute: VICIdial's check
    is drops over calls, so the level is not halved."""
    pacer, stats = Vicidial(), CallStats()
    for i in range(25):
        stats.live_answer(50.0 + i * 0.1, abandoned=i < 13)
    for t in range(61):
        pacer.launch(Snapshot(now=float(t), free=40, stats=stats))
    assert 3.0 == pacer.level


def test_vicidial_names_its_dial_methods() -> None:
    with pytest.raises(ValueError, match="ADAPT_HARD"):
        Vicidial(dial_method="ADAPT_HARD")
    hard = make_pacer("vicidial-hard-limit")
    assert isinstance(hard, Vicidial)
    assert ("vicidial-hard-limit", "ADAPT_HARD_LIMIT") == (hard.name, hard.dial_method)


def test_issabel_counts_agents_about_to_free_and_overcommits() -> None:
    """Busy agents whose exponential call has 97% odds of ending within elapsed + answer time
    count as free; the sum is divided by the answer rate."""
    stats = CallStats()
    for i in range(20):
        stats.dial_ended(10.0, answered=i < 5)  # answer rate 25%, answered after 10 s
        stats.talk_ended(60.0)
    done = -60.0 * math.log(1 - 0.97) - 10.0  # elapsed at which P(end) reaches 97%
    snap = Snapshot(now=0.0, free=1, talk_elapsed=np.array([done + 1, done - 1]), stats=stats)
    assert int((1 + 1) / 0.25) == Issabel().launch(snap)


def test_issabel_overcommits_by_the_last_30_minutes_answer_rate() -> None:
    """Half of the first hour's dials were answered, a quarter of the last 30 minutes':
    the calls are divided by the quarter. Fewer than 10 dials in those 30 minutes: no
    overcommit."""
    stats, pacer = CallStats(), Issabel()
    for i in range(100):
        stats.dial_ended(10.0, answered=i % 2 == 0)
        stats.talk_ended(60.0)
    assert 2 == pacer.launch(Snapshot(now=0.0, free=1, stats=stats))  # 1 / 0.5
    assert 1 == pacer.launch(Snapshot(now=3600.0, free=1, stats=stats))  # no dials since
    for i in range(20):
        stats.dial_ended(10.0, answered=i < 5)
    assert 4 == pacer.launch(Snapshot(now=3700.0, free=1, stats=stats))  # 1 / (5 / 20)
    assert 4 == pacer.launch(Snapshot(now=5400.0, free=1, stats=stats))
    assert 1 == pacer.launch(Snapshot(now=5500.0, free=1, stats=stats))  # 30 min later


SCENARIOS = REPO / "bench" / "scenarios"

SCENARIO = """
[scenario]
seats = 8
shift_h = 1.5
[callees]
answer = 0.3
[quotas]
cells = 4
target = 30
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    path = tmp_path / "s8-a30.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return load_scenario(path)


def test_simulation_is_deterministic_for_a_seed(scenario: Scenario) -> None:
    first, again = (simulate(scenario, Predictive(), 7) for _ in range(2))
    assert dataclasses.replace(first, sim_seconds_per_wall_second=0) == dataclasses.replace(
        again, sim_seconds_per_wall_second=0
    )
    assert first != simulate(scenario, Predictive(), 8)


def test_dials_in_flight_are_counted_by_their_launch_time(scenario: Scenario) -> None:
    """The snapshot's ring times come from dials in flight counted by launch tick: stopped
    with calls out, the counts hold the dials in flight, each at its launch time."""
    sim = Simulation(scenario, Predictive(), 3)
    sim.end = 1800.0  # mid-shift
    sim.run()
    assert sim.flight
    launched = sorted(t for t, count in sim.flying.items() for _ in range(count))
    assert launched == sorted(sim.flight.values())


def test_progressive_never_abandons_and_quotas_never_overshoot(scenario: Scenario) -> None:
    result = simulate(scenario, Progressive(), 1)
    assert (0, 0) == (result.abandoned, result.quota_overshoot)
    assert result.answers > 0


def test_occupancy_counts_a_break_as_logged_in_time(scenario: Scenario) -> None:
    """The issue's occupancy: talk and wrap-up over logged-in seat time, breaks included;
    beside it, over the time seats were ready for calls (breaks left out)."""
    sim = Simulation(scenario, Progressive(), 1)
    result = sim.run()
    logged_in = scenario.seats * scenario.shift_h * 3600
    assert math.isclose(result.occupancy, sim.busy_time.sum() / logged_in)
    assert sim.staffed_time.sum() < logged_in  # some seats took a break
    assert result.occupancy < result.occupancy_staffed


def test_callers_waiting_for_a_seat_hold_trunk_lines(scenario: Scenario) -> None:
    """A trunk line is held from the dial to the hang-up: ringing, waiting for a seat, and
    talking, as the live dialer counts its calls."""
    sim = Simulation(scenario, Progressive(), 1)
    lines = scenario.seats * scenario.channels_per_seat
    assert lines == sim.lines_free()
    sim.flight[1] = 0.0
    sim.waiting[2] = (0.0, 0)
    assert lines - 2 == sim.lines_free()


def test_the_oracle_fits_answers_to_seats_in_any_order() -> None:
    """Seats open at 0 s and 15 s; an answer at 20 s comes first (its cell ranks first), then
    one at 5 s: both fit (5 s on the first seat, 20 s on the second)."""
    open_at = [0.0, 15.0]
    assert (True, True, False) == (
        _take(open_at, 20.0), _take(open_at, 5.0), _take(open_at, 30.0)
    )  # fmt: skip


def test_baselines_hold_a_caller_for_their_own_drop_timer(scenario: Scenario) -> None:
    """VICIdial's drop_call_seconds (BASELINES.md: 2) and the legal 2 s for Issabel's queue;
    ours, the dialer's 1.5 s cut-off."""
    assert 1.5 == scenario.grace_s
    graces = [Simulation(scenario, p, 1).grace for p in (Vicidial(), Issabel(), Predictive())]
    assert [2.0, 2.0, 1.5] == graces


def test_a_break_falling_due_in_the_wrap_up_is_taken_after_it(scenario: Scenario) -> None:
    """The pacer counted the seat as pausing after its call once its work time, wrap-up
    included, reached the break's: the seat goes on its break, not back to free."""
    sim = Simulation(scenario, Progressive(), 1)
    every = scenario.break_every_min * 60
    sim.worked[0] = every - 200.0
    sim._set(0, TALK, 0.0)
    sim._set(0, WRAP, 190.0)  # worked: every - 10, and 10 s of wrap-up to go
    sim._wrap_end(200.0, 0, 10.0)
    assert PAUSED == sim.state[0]


@pytest.fixture
def long_shift(tmp_path: Path) -> Scenario:
    """Four hours whose quotas do not fill (once they do, a faster pacer idles sooner)."""
    path = tmp_path / "s8-a30-long.toml"
    text = SCENARIO.replace("target = 30", "target = 1000").replace("shift_h = 1.5", "shift_h = 4")
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def test_predictive_keeps_operators_busier_than_progressive(long_shift: Scenario) -> None:
    progressive = simulate(long_shift, Progressive(), 3)
    predictive = simulate(long_shift, Predictive(), 3)
    assert predictive.occupancy > progressive.occupancy
    assert 0 == predictive.quota_overshoot


def test_the_oracle_never_abandons_and_bounds_the_others(long_shift: Scenario) -> None:
    """Knowing every call's fate and every seat's next free moment, the oracle keeps the
    seats busier than predictive with no abandon and no overshoot."""
    oracle = simulate(long_shift, simulated_pacer("oracle"), 3)
    predictive = simulate(long_shift, Predictive(), 3)
    assert (0, 0) == (oracle.abandoned, oracle.quota_overshoot)
    assert oracle.occupancy > predictive.occupancy


def _with_detection(scenario: Scenario, estimate: float) -> Scenario:
    """A fifth of the dials judged machines, a tenth of those people: 2% of the dials hung
    up on, some 6% of the live answers; the pacer counts ``estimate`` of each verdict."""
    return dataclasses.replace(scenario, machine=0.2, amd_false_positive=0.1, amd_estimate=estimate)


def test_people_taken_for_machines_are_abandoned_calls(long_shift: Scenario) -> None:
    """Progressive puts every answer through, yet detection hangs up on people: each one
    counts as an abandoned live answer, as Ofcom counts them."""
    result = simulate(_with_detection(long_shift, 0.1), Progressive(), 3)
    assert 0 < result.amd_false_positives == result.abandoned
    live = result.answers + result.amd_false_positives
    assert result.abandoned / live == pytest.approx(result.abandon_rate)
    assert result.max_window_abandon_rate > 0


def test_predictive_counting_the_estimate_abandons_none_of_its_answers_past_the_cap() -> None:
    """Detection's false positives alone breach the cap on a 50-seat floor: a pacer counting
    them keeps to progressive and abandons none of the answers it put through; one that does
    not count them overdials as if the window were clean, and abandons answers on top."""
    floor = dataclasses.replace(load_scenario(SCENARIOS / "s50-a30.toml"), shift_h=2.0)
    counting = simulate(_with_detection(floor, 0.1), Predictive(), 3)
    blind = simulate(_with_detection(floor, 0.0), Predictive(), 3)
    own = [r.abandoned - r.amd_false_positives for r in (counting, blind)]
    assert 0 == own[0] < own[1]
    assert counting.amd_false_positives > 0
    assert blind.amd_false_positives > 0


def test_worst_window() -> None:
    """Abandons over answers in each window within the shift; the worst one."""
    live = [(10.0, False), (20.0, True), (70.0, False), (80.0, False), (130.0, False)]
    assert 0.5 == worst_window(live, window_s=60, end=180)


def test_the_window_an_answer_leaves_starts_at_that_answer() -> None:
    """Answers at fractional times: the window judged as one leaves holds the abandon that
    followed and not the answer that left (an end at t + W less W fell just before t in
    floating point about once in ten)."""
    for k in range(200):
        t0 = 123.456 + k * 0.1237
        live = [(t0, False), (t0 + 30.0, True), (t0 + 90.0, False)]
        assert 1.0 == worst_window(live, window_s=60.0, end=1000.0), t0


def test_the_worst_window_is_found_between_whole_minutes() -> None:
    """The window (5, 65] holds an abandon and one other answer (50%); windows ending on
    whole minutes see at most 25%."""
    live = [(5.0, False), (61.5, True), (64.0, False), (100.0, False), (110.0, False)]
    assert 0.5 == worst_window(live, window_s=60, end=180)


@pytest.mark.parametrize(
    ("section", "line", "key"),
    [
        ("callees", "answer = 1.5", "callees.answer"),
        ("scenario", "shift_h = inf", "scenario.shift_h"),
        ("scenario", "shift_h = nan", "scenario.shift_h"),
        ("scenario", 'start = "99:99"', "scenario.start"),
        ("callees", "ring_timeout_s = 10", "callees.ring_timeout_s"),
        ("regulation", "grace_s = 60", "regulation.grace_s"),
        ("regulation", "abandon_window_min = nan", "regulation.abandon_window_min"),
        ("quotas", "numbers = 5", "quotas.numbers"),
        ("callees", "amd_false_positive = 1.2", "callees.amd_false_positive"),
        ("regulation", "amd_false_positive = -0.1", "regulation.amd_false_positive"),
    ],
)
def test_bad_scenario_names_the_key(tmp_path: Path, section: str, line: str, key: str) -> None:
    """Values that are not numbers, out of range or against the rules are refused."""
    path = tmp_path / "bad.toml"
    more = f"{line}\n" if section == "scenario" else f"[{section}]\n{line}\n"
    path.write_text(f"[scenario]\nseats = 5\n{more}", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert key == caught.value.key


def test_simulate_command_prints_the_figures_as_json(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", "--scenario", str(tmp_path / "s8-a30.toml"), "--pacer", "vicidial"]
    assert 0 == main([*args, "--seed", "2", "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert {
        "occupancy", "abandon_rate", "max_window_abandon_rate", "dials", "answers",
        "completes", "contacts_per_seat_hour", "wait_p95_s", "quota_overshoot",
        "sim_seconds_per_wall_second",
    } <= set(figures)  # fmt: skip
    assert ("vicidial", 2, 8) == (figures["pacer"], figures["seed"], figures["seats"])


def test_every_shipped_scenario_loads() -> None:
    """bench/scenarios: 5 to 300 seats at 15, 30 and 50% answered."""
    folder = Path(__file__).parents[1] / "bench" / "scenarios"
    loaded = {(s.seats, round(s.answer * 100)) for s in map(load_scenario, folder.glob("*.toml"))}
    assert {(s, a) for s in (5, 10, 20, 50, 100, 300) for a in (15, 30, 50)} == loaded


def test_unanswered_dials_are_seen_ended_by_the_tick_a_heap_event_reached() -> None:
    """Dials placed at tick 5: one ending at 7.0 was queued before tick 7 and seen by it; one
    ending at 6.0 came after tick 6 (queued first) and is seen by tick 7; one ending within
    the tick it was placed at is seen by the next, not lost under a tick already past."""
    assert [7, 7, 7, 6, 6] == [_seen_at(5.0, d) for d in (2.0, 1.5, 1.0, 0.3, 1e-20)]


def test_end_tables_read_half_seconds_as_a_search_of_every_cell_would() -> None:
    """The Kaplan-Meier end tables' shortcut (one search over half seconds, then strided
    views) gives exactly what searching every row x horizon gives, and other horizons (thirds,
    an infinite one, none) still take the search."""
    rng = np.random.default_rng(4)
    for within in (
        np.array([0.0, 3, 5, 7, 9, 12, 16]),
        np.array([2.5, 7.0]),
        _seat_times(GRACE_S),
        _seat_times(0.7),  # with machine detection: not on half seconds
        np.array([1 / 3, 2.0]),
        np.array([np.inf, 1.0]),
        np.array([]),
    ):
        for durations in (  # and ties, half seconds on the points, negatives (a clock)
            np.sort(rng.exponential(200.0, 300)),
            np.array([-1.0, 0.0, 0.5, 2.0, 2.0, 3.25, 7.5]),
        ):
            survival = stats_module._survival(durations, rng.exponential(100.0, 40))
            e = np.arange(np.ceil(durations[-1]) + 2)
            grid = survival[np.searchsorted(durations, e[:, None] + within[None, :], side="right")]
            assert np.array_equal(grid, stats_module._survival_by(survival, durations, e, within))
