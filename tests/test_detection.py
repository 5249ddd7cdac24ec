"""Machine detection is suspended while its estimated false positives alone near the cap."""

from __future__ import annotations

import pytest

from dialer.campaign.detection import detection_suspended, suspended_at_start


@pytest.mark.parametrize(
    ("was", "amd_abandons", "answers", "expected"),
    [
        (False, 2.4, 100.0, True),  # 2.4% of 100 answers: 80% of the 3% cap
        (False, 2.3, 100.0, False),
        (True, 2.0, 100.0, True),  # in the gap: as it was
        (False, 2.0, 100.0, False),
        (True, 1.5, 100.0, False),  # half the cap: on again
        (False, 5.0, 29.0, False),  # too few answers to judge: as it was
        (True, 0.0, 29.0, True),
    ],
)
def test_detection_is_suspended_near_the_cap_and_on_again_at_half_of_it(
    was: bool, amd_abandons: float, answers: float, expected: bool
) -> None:
    assert expected is detection_suspended(was, amd_abandons, answers, cap=0.03)


def test_a_house_cap_suspends_sooner() -> None:
    """Against a 1.5% cap, 1.2 estimated abandons in 100 answers are 80% of it."""
    assert detection_suspended(False, 1.2, 100.0, cap=0.015)
    assert not detection_suspended(False, 1.2, 100.0, cap=0.03)


def test_a_start_keeps_detection_suspended_in_the_gap() -> None:
    """A restart does not know whether the run before had suspended detection: between
    half the cap and 80% of it, it starts suspended; at half or below, or with too few
    answers to judge, detection is on."""
    assert suspended_at_start(2.0, 100.0, cap=0.03)
    assert not suspended_at_start(1.5, 100.0, cap=0.03)
    assert not suspended_at_start(5.0, 29.0, cap=0.03)
