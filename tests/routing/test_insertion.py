"""Cheapest insertion (routing.stability.cheapest_insertion): re-plans and a dispatcher's stop move share it."""
from __future__ import annotations

from backend.routing.stability import POSITIONS, cheapest_insertion
from tests.routing.test_solver import collector, matrices_for, task

MORNING, EVENING = (8 * 3600, 12 * 3600), (16 * 3600, 21 * 3600)


def _day():
    """Five morning stops in a loop from home, and a late visit next to the first leg: the only position
    that keeps every window (after the last stop) is the dearest of the six."""
    stops = [task(k, north, east, windows=[MORNING]) for k, (north, east) in
             enumerate([(0, 1000), (0, 2000), (1000, 2000), (1000, 1000), (1000, 0)], start=1)]
    late = task(6, 0, 1500, windows=[EVENING])
    tasks = [*stops, late]
    c = collector(1)
    return c, tasks, matrices_for([c], tasks)


def test_the_cheapest_position_that_breaks_no_rule_wins():
    c, tasks, (dist, dur) = _day()
    early = task(7, 0, 1500, windows=[MORNING])  # the same door in the morning: between stops 1 and 2
    tasks = [*tasks[:5], early]
    dist, dur = matrices_for([c], tasks)
    extra, seq = cheapest_insertion(0, c, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur)
    assert seq == [0, 5, 1, 2, 3, 4]
    assert extra == dist[1, 6] + dist[6, 2] - dist[1, 2]


def test_every_position_is_tried_only_when_asked():
    c, tasks, (dist, dur) = _day()
    assert POSITIONS < 6
    assert cheapest_insertion(0, c, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur) is None
    extra, seq = cheapest_insertion(0, c, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur, positions=None)
    assert seq == [0, 1, 2, 3, 4, 5]
    assert extra == dist[5, 6] + dist[6, 0] - dist[5, 0]


def test_fixed_stops_keep_their_place_and_rules_are_checked_first():
    c, tasks, (dist, dur) = _day()
    early = task(7, 0, 500, windows=[MORNING])  # on the way to the first stop: free there
    tasks = [*tasks[:5], early]
    dist, dur = matrices_for([c], tasks)
    assert cheapest_insertion(0, c, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur)[1][0] == 5
    # The first stop is made (fixed): the visit goes among the movable ones, on the way home.
    _, seq = cheapest_insertion(0, c, [0], [1, 2, 3, 4], 5, tasks, dist, dur, positions=None)
    assert seq == [1, 2, 3, 4, 5]
    full = collector(1, max_visits=5)
    assert cheapest_insertion(0, full, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur, positions=None) is None
    legal = task(8, 0, 500, windows=[MORNING], required_skills=frozenset({"legal"}))
    tasks = [*tasks[:5], legal]
    assert cheapest_insertion(0, c, [], [0, 1, 2, 3, 4], 5, tasks, dist, dur, positions=None) is None
