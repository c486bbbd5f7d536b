"""The wall of a class that spans processes: parts kept per process, forgotten when silent, merged into one wall."""

import json

from playground import rooms
from playground.wall import PART_SECONDS, Entry, Part, Parts


def entry(member: str, joined_at: float, loss: float | None = 0.3, status: str = "running", stuck=False) -> Entry:
    run = rooms.Run(
        member=member,
        epoch=10,
        status=status,
        test_loss=loss,
        test_accuracy=0.8,
        hidden_neurons=6,
        dataset="circle",
        problem="classification",
        own_data=False,
        settings={
            "learningRate": 0.03,
            "activation": "tanh",
            "networkShape": (4, 2),
            "batchSize": 10,
            "optimizer": "sgd",
        },
    )
    return Entry(
        run, f"Name {member}", joined_at, reached=False, stuck=stuck, thumbnail=bytes([int(joined_at) % 31] * 100)
    )


def part(origin: str, *entries: Entry, watching=None) -> Part:
    return Part(origin, "K7QXAB", tuple(entries), watching or {})


def test_the_wall_merges_every_processs_part_in_joining_order_with_one_summary():
    parts = Parts()
    parts.keep(part("a", entry("m1", 1), entry("m3", 3, status="diverged", loss=None)), now=0.0)
    parts.keep(part("b", entry("m2", 2, loss=0.1, stuck=True)), now=0.1)
    wall = parts.wall("K7QXAB", now=0.2, leaderboard=[{"member": "m2"}])
    assert [tile["member"] for tile in wall["tiles"]] == ["m1", "m2", "m3"]
    assert wall["maps"] == bytes([1] * 100 + [2] * 100 + [3] * 100)
    assert wall["tiles"][1] == {
        "member": "m2",
        "name": "Name m2",
        "joinedAt": 2,
        "epoch": 10,
        "testLoss": 0.1,
        "testAccuracy": 0.8,
        "status": "running",
        "hiddenNeurons": 6,
        "reached": False,
        "stuck": True,
    }
    runs = [e.run for e in (entry("m1", 1), entry("m2", 2, loss=0.1), entry("m3", 3, status="diverged", loss=None))]
    assert wall["summary"] == rooms.class_summary(runs, {"m2"})
    assert wall["summary"]["runs"] == 3 and wall["summary"]["diverged"] == 1 and wall["summary"]["stuck"] == 1
    assert wall["leaderboard"] == [{"member": "m2"}]


def test_a_newer_part_replaces_its_processs_last_and_a_silent_process_is_forgotten():
    parts = Parts()
    parts.keep(part("a", entry("m1", 1), entry("m2", 2)), now=0.0)
    parts.keep(part("b", entry("m3", 3)), now=0.0)
    parts.keep(part("a", entry("m1", 1)), now=1.0)  # m2 left process a
    assert [e.run.member for e in parts.entries("K7QXAB", now=1.0)] == ["m1", "m3"]
    assert [e.run.member for e in parts.entries("K7QXAB", now=PART_SECONDS + 0.5)] == ["m1"]  # b went silent
    assert parts.entries("K7QXAB", now=10.0) == [] and parts.wall("K7QXAB", 10.0, [])["summary"]["runs"] == 0


def test_a_learner_heard_from_two_processes_counts_once_where_it_was_heard_last():
    parts = Parts()
    parts.keep(part("old", entry("m1", 1, loss=0.4)), now=0.0)
    parts.keep(part("new", entry("m1", 1, loss=0.2)), now=0.5)  # it reconnected to another process
    (only,) = parts.entries("K7QXAB", now=0.6)
    assert only.run.test_loss == 0.2


def test_the_viewers_of_a_run_are_those_of_every_fresh_part():
    parts = Parts()
    parts.keep(part("a", watching={"m1": ("s1", "s2")}), now=0.0)
    parts.keep(part("b", watching={"m1": ("s3",), "m2": ("s4",)}), now=1.0)
    assert parts.watchers("K7QXAB", now=1.0) == {"m1": {("a", "s1"), ("a", "s2"), ("b", "s3")}, "m2": {("b", "s4")}}
    assert parts.watchers("K7QXAB", now=PART_SECONDS + 0.5) == {"m1": {("b", "s3")}, "m2": {("b", "s4")}}


def test_a_part_travels_as_json_and_comes_back_the_same():
    sent = part("a", entry("m1", 1), entry("m2", 2, loss=None), watching={"m9": ("s1",)})
    back = Part.from_json(json.loads(json.dumps(sent.to_json(), allow_nan=False)))
    assert back.watching == sent.watching and back.code == sent.code and back.origin == "a"
    assert [e.thumbnail for e in back.entries] == [e.thumbnail for e in sent.entries]
    assert [e.tile() for e in back.entries] == [e.tile() for e in sent.entries]
    assert rooms.class_summary([e.run for e in back.entries], set()) == rooms.class_summary(
        [e.run for e in sent.entries], set()
    )


def test_the_classes_nobody_publishes_for_are_pruned():
    parts = Parts()
    parts.keep(part("a", entry("m1", 1)), now=0.0)
    parts.keep(Part("b", "OTHER2", (), {}), now=PART_SECONDS * 3)
    assert list(parts._parts) == ["OTHER2"]
