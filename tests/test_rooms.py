"""The classroom's rules (playground/rooms.py), without a socket: codes, keys, names, locks, the challenge, the
leaderboard and the class view."""

import pytest

from playground import rooms
from playground.options import ConfigError
from playground.rooms import Challenge, RoomError, Run


def test_codes_avoid_look_alike_characters_and_read_back_in_any_case():
    codes = {rooms.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 6 and not set(code) & set("0O1IlL") for code in codes)
    code = codes.pop()
    assert rooms.read_code(f" {code[:3].lower()}-{code[3:]} ") == code
    for bad in ("ABC", "ABCDE0", "ABCDEI", 42, None, "A" * 50):
        with pytest.raises(RoomError) as refused:
            rooms.read_code(bad)
        assert "code" in refused.value.fields


def test_only_a_keys_hash_is_kept_and_only_the_key_matches_it():
    key = rooms.new_key()
    stored = rooms.new_room("ABCDEF", key, now=100.0, hours=12)
    assert key not in str(stored) and stored["expiresAt"] == 100.0 + 12 * 3600
    assert rooms.key_matches(key, stored["teacherKeyHash"])
    assert not rooms.key_matches(key + "x", stored["teacherKeyHash"])
    assert not rooms.key_matches(None, stored["teacherKeyHash"])
    member = rooms.new_member("m1", "Ada", "m1.secret", now=5.0)
    assert "secret" not in str(member) and rooms.key_matches("m1.secret", member["keyHash"])


def test_names_are_tidied_limited_and_claimed_regardless_of_case():
    assert rooms.read_name("  Ada \t Lovelace ") == "Ada Lovelace"
    assert rooms.read_name("Zoë-Marie O.") == "Zoë-Marie O."
    for bad in ("", "   ", "x" * 25, "<b>", "a\u0000b", 7):
        with pytest.raises(RoomError):
            rooms.read_name(bad)
    assert rooms.name_slot("ABCDEF", "Ada") == rooms.name_slot("ABCDEF", "ADA")


def test_a_suggested_name_is_free_and_within_the_limit():
    taken = {"Ada", "Ada 2"}
    assert rooms.suggest_name("Ada", taken.__contains__) == "Ada 3"
    long = "x" * 24
    suggestion = rooms.suggest_name(long, {long}.__contains__)
    assert len(suggestion) <= rooms.MAX_NAME_LENGTH and suggestion.endswith(" 2")


def test_locks_name_options_and_refuse_changes_of_locked_ones_only():
    assert rooms.read_locks(["seed", "learningRate", "seed"]) == ["learningRate", "seed"]
    for bad in (["showTestData"], ["nope"], "learningRate", [3]):
        with pytest.raises(RoomError):
            rooms.read_locks(bad)
    current = {"learningRate": 0.03, "noise": 0}
    assert rooms.changed_names(current, {"learningRate": 0.03, "noise": 5}) == ["noise"]
    rooms.refuse_locked(["learningRate"], ["noise"])
    with pytest.raises(ConfigError) as refused:
        rooms.refuse_locked(["learningRate"], ["learningRate", "noise"])
    assert list(refused.value.errors) == ["learningRate"]
    assert "locked by the teacher (Learning rate)" in refused.value.errors["learningRate"]


def test_a_pushed_config_keeps_the_learners_seed_unless_the_teacher_fixed_it():
    config = {"learningRate": 0.1, "seed": "abc"}
    assert rooms.pushed_changes(config, fix_seed=False) == {"learningRate": 0.1}
    assert rooms.pushed_changes(config, fix_seed=True) == {"learningRate": 0.1, "seed": "abc"}
    with pytest.raises(ConfigError):
        rooms.pushed_changes({"learningRate": -1}, fix_seed=False)


def run(**fields) -> Run:
    values = dict(
        member="m",
        epoch=50,
        status="running",
        test_loss=0.3,
        test_accuracy=0.8,
        hidden_neurons=6,
        dataset="circle",
        problem="classification",
        own_data=False,
        settings={"activation": "tanh"},
    )
    return Run(**{**values, **fields})


def test_a_challenge_is_read_strictly():
    challenge = Challenge.read({"dataset": "spiral", "maxHiddenNeurons": 12, "belowTestLoss": 0.05})
    assert challenge.to_json() == {
        "dataset": "spiral",
        "maxHiddenNeurons": 12,
        "belowTestLoss": 0.05,
        "aboveTestAccuracy": None,
    }
    bad = [
        None,
        {"dataset": "moon", "belowTestLoss": 0.1},
        {"dataset": "circle"},
        {"dataset": "circle", "belowTestLoss": 0.1, "aboveTestAccuracy": 0.9},
        {"dataset": "circle", "belowTestLoss": 0},
        {"dataset": "circle", "aboveTestAccuracy": 1},
        {"dataset": "circle", "maxHiddenNeurons": 0, "belowTestLoss": 0.1},
        {"dataset": "circle", "maxHiddenNeurons": True, "belowTestLoss": 0.1},
        {"dataset": "circle", "belowTestLoss": 0.1, "extra": 1},
    ]
    for payload in bad:
        with pytest.raises(RoomError):
            Challenge.read(payload)


def test_a_challenge_counts_only_runs_on_its_generated_data_within_the_limits():
    challenge = Challenge.read({"dataset": "circle", "maxHiddenNeurons": 6, "aboveTestAccuracy": 0.9})
    assert challenge.reached(run(test_accuracy=0.95))
    assert not challenge.reached(run(test_accuracy=0.9))
    assert not challenge.reached(run(test_accuracy=0.95, hidden_neurons=7))
    assert not challenge.reached(run(test_accuracy=0.95, dataset="xor"))
    assert not challenge.reached(run(test_accuracy=0.95, own_data=True))
    assert not challenge.reached(run(test_accuracy=None))
    by_loss = Challenge.read({"dataset": "circle", "belowTestLoss": 0.05})
    assert by_loss.reached(run(test_loss=0.04, hidden_neurons=40)) and not by_loss.reached(run(test_loss=None))


def test_the_leaderboard_ranks_fewer_epochs_then_smaller_networks():
    slow = rooms.leaderboard_entry(run(member="a", epoch=300), "A", now=1.0)
    small = rooms.leaderboard_entry(run(member="b", epoch=100, hidden_neurons=3), "B", now=3.0)
    big = rooms.leaderboard_entry(run(member="c", epoch=100, hidden_neurons=8), "C", now=2.0)
    assert [entry["name"] for entry in rooms.leaderboard([slow, big, small])] == ["B", "C", "A"]
    assert rooms.better_entry(small, None) and rooms.better_entry(small, big) and not rooms.better_entry(slow, big)


def test_a_run_is_stuck_when_its_loss_stays_flat_and_high_long_enough():
    flat = [(t * 0.5, t * 40, 0.45) for t in range(8)]  # 3.5 s, 280 epochs, no change
    assert rooms.stuck(flat)
    assert not rooms.stuck(flat[:5])  # 2 s: too soon to say
    assert not rooms.stuck([(t, epoch, 0.1) for t, epoch, _ in flat])  # flat but low: it learned
    assert not rooms.stuck([(t, epoch, 0.45 - 0.01 * i) for i, (t, epoch, _) in enumerate(flat)])  # still learning
    assert not rooms.stuck([(t * 0.5, t, 0.45) for t in range(8)])  # too few epochs (a slow pace)
    assert not rooms.stuck([])


def test_the_class_summary_counts_what_went_wrong():
    runs = [
        run(member="a", status="diverged", test_loss=None, settings={"activation": "relu", "networkShape": (4, 2)}),
        run(member="b", test_loss=0.4, settings={"activation": "relu", "networkShape": (4, 2)}),
        run(member="c", test_loss=0.1, settings={"activation": "tanh", "networkShape": ()}),
    ]
    summary = rooms.class_summary(runs, stuck_members={"b", "gone"})
    assert summary["runs"] == 3 and summary["diverged"] == 1 and summary["stuck"] == 1
    assert summary["testLoss"] == {"min": 0.1, "median": 0.4, "max": 0.4}
    assert summary["triedMost"]["activation"] == {"value": "relu", "runs": 2}
    assert summary["triedMost"]["networkShape"] == {"value": "4-2", "runs": 2}
    assert rooms.class_summary([], set())["testLoss"] is None
