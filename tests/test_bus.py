"""The command bus: every subscriber of a topic gets each message, others do not, and one failure stops nobody."""

from playground.web.bus import LocalBus


def test_a_message_reaches_every_handler_of_its_topic_only():
    bus, got = LocalBus(), []
    bus.subscribe("room", lambda message: got.append(("first", message)))
    bus.subscribe("room", lambda message: got.append(("second", message)))
    bus.subscribe("other", lambda message: got.append(("other", message)))
    bus.publish("room", {"pause": "K7QX"})
    assert got == [("first", {"pause": "K7QX"}), ("second", {"pause": "K7QX"})]


def test_a_failing_handler_does_not_keep_the_message_from_the_others():
    bus, got = LocalBus(), []

    def broken(message):
        raise RuntimeError("a bug")

    bus.subscribe("room", broken)
    bus.subscribe("room", got.append)
    bus.publish("room", {"n": 1})
    bus.publish("nobody-listens", {"n": 2})
    assert got == [{"n": 1}]
