"""The rules of many experiments on one server (playground/experiments.py): viewers, stalls, the cap, groups."""

import pytest

from playground.experiments import Experiment, Lab
from playground.options import ConfigError
from playground.session import RUNNING, TrainingSession

STALL = 1.0


def running(lab: Lab, viewer: str = "v", **config) -> Experiment:
    experiment = lab.create(TrainingSession(config), 1 / 30)
    experiment.watch(viewer)
    experiment.session.start()
    return experiment


def test_an_experiment_without_viewers_or_whose_viewers_all_stopped_reading_is_stalled():
    experiment = Experiment("e1", TrainingSession(), 1 / 30)
    assert experiment.stalled(10.0, STALL)  # nobody watches
    experiment.watch("learner")
    experiment.watch("teacher")
    assert not experiment.stalled(10.0, STALL)
    experiment.sent("learner", 10.0)
    experiment.sent("teacher", 10.0)
    assert not experiment.stalled(10.5, STALL)
    assert experiment.stalled(11.5, STALL)  # both left it unacknowledged too long
    experiment.acknowledged("teacher")
    assert not experiment.stalled(11.5, STALL)  # one viewer reading is enough
    experiment.unwatch("teacher")
    assert experiment.stalled(11.5, STALL)


def test_sent_keeps_the_oldest_unacknowledged_time():
    experiment = Experiment("e1", TrainingSession(), 1 / 30)
    experiment.watch("v")
    experiment.sent("v", 1.0)
    experiment.sent("v", 5.0)  # a resend does not restart the stall clock
    assert experiment.viewers["v"] == 1.0
    experiment.sent("stranger", 1.0)
    assert "stranger" not in experiment.viewers


def test_frames_are_numbered_and_keep_a_fixed_clock():
    experiment = Experiment("e1", TrainingSession(), 0.1)
    assert experiment.frame_due(0.0)
    experiment.store({"epoch": 0}, now=10.0)  # late: the clock starts again from now
    assert experiment.seq == 1 and experiment.next_frame_at == pytest.approx(10.1)
    assert not experiment.frame_due(10.05) and experiment.frame_due(10.05, within=0.06)
    experiment.store({"epoch": 3}, now=10.1)  # on time: the clock keeps its period
    assert experiment.newest == {"epoch": 3, "seq": 2} and experiment.next_frame_at == pytest.approx(10.2)
    assert experiment.epochs_per_second(10.1) == pytest.approx(30.0)


def test_the_cap_counts_experiments_that_train_not_those_nobody_reads():
    lab = Lab(max_training=2, max_group_size=8, stall_seconds=STALL)
    first, second = running(lab, "a"), running(lab, "b")
    waiting = lab.create(TrainingSession(), 1 / 30)
    waiting.watch("c")
    with pytest.raises(ConfigError) as refused:
        lab.claim_place(waiting, 0.0)
    assert "session" in refused.value.errors and "maximum of 2" in refused.value.errors["session"]
    lab.claim_place(first, 0.0)  # already running: no new place needed
    second.sent("b", 0.0)  # b's tab stops reading ...
    assert lab.training(2.0) == [first]  # ... so it is not trained and holds no place
    lab.claim_place(waiting, 2.0)
    waiting.session.start()
    second.acknowledged("b")  # b reads again, but both places are taken
    assert lab.training(3.0) == [first, waiting]
    lab.remove(first)
    assert lab.training(3.0) == [second, waiting]  # and it trains again once one is free


def test_stopped_experiments_do_not_train():
    lab = Lab(max_training=4, max_group_size=8, stall_seconds=STALL)
    experiment = running(lab)
    experiment.session.stop()
    assert experiment.session.status != RUNNING and lab.training(0.0) == []


def test_ready_leaves_out_paced_experiments_until_their_next_epoch():
    lab = Lab(max_training=4, max_group_size=8, stall_seconds=STALL)
    free = running(lab, "a")
    paced = running(lab, "b", epochsPerSecond=2)
    ready, _ = lab.ready(100.0, 0.02)
    assert ready == [(free, None), (paced, 1)]  # the first paced epoch at once
    paced.pace_spent(1)
    ready, next_due = lab.ready(100.1, 0.02)
    assert ready == [(free, None)] and next_due == pytest.approx(100.5)


def test_groups_join_equal_signatures_up_to_the_group_size():
    lab = Lab(max_training=10, max_group_size=2, stall_seconds=STALL)
    defaults = [running(lab, f"d{i}") for i in range(3)]  # each its own seed and data
    relu = running(lab, "r", activation="relu")  # another activation: it trains with them
    other = running(lab, "b", batchSize=7)  # another batching: it cannot
    assert len({e.session.signature for e in [*defaults, relu]}) == 1
    assert other.session.signature != defaults[0].session.signature
    ready, _ = lab.ready(0.0, 0.02)
    groups = [[experiment for experiment, _ in group] for group in lab.groups(ready)]
    assert groups == [defaults[:2], [defaults[2], relu], [other]]
    lab.max_group_size = 1  # batching off: every experiment alone
    assert len(lab.groups(ready)) == 5


def test_a_turn_trains_members_whose_signature_changed_since_it_was_planned():
    from playground.web.hub import Hub

    lab = Lab(max_training=4, max_group_size=8, stall_seconds=STALL)
    planned = [running(lab, "a"), running(lab, "b")]
    planned[1].session.update_config({"learningRate": 0.1, "batchSize": 7})  # an event's trip ran before the turn
    planned[1].session.start()
    epochs = [experiment.session.epoch for experiment in planned]
    frames, trained = Hub._train_and_render([(experiment, 1) for experiment in planned], 0.0, 0.0, 0.0)
    assert trained > 0
    assert [experiment.session.epoch for experiment in planned] == [epochs[0] + 1, 1]
    assert all(frame is not None for frame in frames)
