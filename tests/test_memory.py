"""Returning freed memory: a release asked for too soon is not lost, it waits for the next round."""

from playground.web import memory


def test_a_release_asked_for_within_the_interval_waits_for_the_next_round():
    assert memory._glibc() is not None  # the server runs on glibc (Debian, Heroku)
    memory.release_freed(min_interval=0)  # done now
    trimmed_at = memory._last_trim
    memory.release_freed(min_interval=3600)  # too soon: it waits
    assert memory._trim_waiting and memory._last_trim == trimmed_at
    memory.release_waiting(min_interval=3600)  # still too soon
    assert memory._trim_waiting
    memory.release_waiting(min_interval=0)  # the round after the interval does it
    assert not memory._trim_waiting and memory._last_trim > trimmed_at
    memory.release_waiting(min_interval=0)  # and nothing is left waiting
    assert memory._last_trim > trimmed_at and not memory._trim_waiting
