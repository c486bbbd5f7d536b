"""bench/classroom.py's parts against the real server: three learners in Node.js (bench/classroom.mjs), the wall,
a push and a pause. No figure is asserted, only that every learner and message is counted."""

from __future__ import annotations

import pytest

from bench import classroom

pytestmark = pytest.mark.timeout(180)


def test_a_small_class_is_measured_end_to_end():
    result = classroom.one_class(3, seconds=1.0, warmup=0.5)
    assert result["learners"] == 3
    for side in ("withoutWall", "withWall"):
        assert result[side]["framesPerSecond"]["min"] > 0, side
    assert result["wallMessagesWithEveryTilePerSecond"] > 0
    assert result["pushedConfigReachedRuns"]["reached"] == 3
    assert result["pauseAllStoppedRuns"]["reached"] == 3


def test_latencies_take_each_learners_first_arrival_after_the_action():
    figures = classroom.latencies(1000.0, [[900.0, 1010.0, 1500.0], [1200.0], [950.0]])
    assert figures == {"reached": 2, "p50Ms": 200.0, "p95Ms": 200.0, "maxMs": 200.0}
    assert classroom.latencies(1000.0, [[1.0]]) == {"reached": 0}
