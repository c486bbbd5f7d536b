"""Many-seed runs (playground/seeds.py): the seeds, the summary, each member exactly its solo run, adopting one."""

import math

import numpy as np
import pytest
import torch

from playground.seeds import RUNS, SeedRun, member_seeds, percentile
from playground.session import DIVERGED, RUNNING, STOPPED, TrainingSession

# A config that exercises every piece of training state: Adam's moments, L1's dead links, a partial batch carried
# into the next epoch (250 training points in batches of 7).
STATEFUL = {
    "seed": "0.12345",
    "optimizer": "adam",
    "regularization": "L1",
    "regularizationRate": 0.001,
    "batchSize": 7,
    "learningRate": 0.03,
    "dataset": "spiral",
    "noise": 10,
}


def test_k_comes_from_the_options_table():
    assert (RUNS.minimum, RUNS.maximum, RUNS.default) == (2, 50, 20)


def test_member_seeds_are_distinct_repeatable_and_not_the_learners_own():
    seeds = member_seeds("0.5", 50)
    assert len(set(seeds)) == 50 and "0.5" not in seeds
    assert member_seeds("0.5", 50) == seeds
    assert member_seeds("0.5", 5) == seeds[:5]
    assert member_seeds("0.6", 5) != seeds[:5]


def test_members_differ_in_initial_weights_and_share_the_data_or_not():
    base = TrainingSession(STATEFUL)
    same, redrawn = SeedRun(base, 3, "same"), SeedRun(base, 3, "redrawn")
    for run in (same, redrawn):
        weights = [member.net.flat.clone() for member in run.members]
        assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
        assert len({member.signature for member in run.members}) == 1
    assert all(member.data is base.data for member in same.members)
    assert all(member.config["seed"] == base.config["seed"] for member in same.members)
    assert [member.config["seed"] for member in redrawn.members] == redrawn.seeds
    assert not np.array_equal(redrawn.members[0].data.train_points, redrawn.members[1].data.train_points)


@pytest.mark.parametrize("q", [0, 10, 25, 50, 90, 100])
@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [0.5] * 4, list(np.random.default_rng(1).random(20))])
def test_percentile_is_numpys_linear_one(values, q):
    assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-15)


def test_an_infinite_loss_counts_as_the_largest():
    assert percentile([1.0, math.inf, 2.0], 50) == 2.0
    assert percentile([1.0, math.inf, 2.0], 90) == math.inf
    assert percentile([math.inf, math.inf], 10) == math.inf


def solo(config: dict, seed: str, data: str) -> TrainingSession:
    """The run a seed gives alone, built the way a learner gets it: a link with that seed (redrawn data), or the
    learner's data with weights from that seed."""
    if data == "redrawn":
        return TrainingSession({**config, "seed": seed})
    session = TrainingSession(config)
    session.restart_from_seed(seed)
    return session


def state_of(session: TrainingSession) -> list[torch.Tensor]:
    trainer = session.trainer
    return [session.net.flat, trainer.accumulated, trainer.dead.double(), *trainer.optimizer_state.values()]


def assert_same_run(member: TrainingSession, alone: TrainingSession) -> None:
    assert (member.epoch, member.trainer.carried, member.trainer.steps) == (
        alone.epoch,
        alone.trainer.carried,
        alone.trainer.steps,
    )
    assert member.train_loss == pytest.approx(alone.train_loss, abs=1e-12)
    assert member.test_loss == pytest.approx(alone.test_loss, abs=1e-12)
    for ours, theirs in zip(state_of(member), state_of(alone), strict=True):
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("data", ["same", "redrawn"])
def test_each_member_is_exactly_its_seeds_solo_run(data):
    run = SeedRun(TrainingSession(STATEFUL), 4, data)
    alone = [solo(STATEFUL, seed, data) for seed in run.seeds]
    for member, session in zip(run.members, alone, strict=True):
        assert_same_run(member, session)
    run.start()
    for _ in range(8):  # epoch by epoch: every epoch's losses
        run.train(0.0, max_epochs=1)
        for member, session in zip(run.members, alone, strict=True):
            session.step()
            assert_same_run(member, session)
    run.train(60.0, max_epochs=25)  # then many epochs in one batched call
    for member, session in zip(run.members, alone, strict=True):
        for _ in range(25):
            session.step()
        assert_same_run(member, session)


def test_the_same_data_is_the_learners_own_data_too():
    base = TrainingSession({"seed": "0.3"})
    base.add_point(1.0, 1.0, 1)
    run = SeedRun(base, 2, "same")
    assert all(member.data is base.data for member in run.members)
    assert all(member.signature == run.members[0].signature for member in run.members)


def test_summary_counts_who_reached_the_stop_rule_and_when():
    run = SeedRun(TrainingSession({"seed": "0.7", "stopBelowTestLoss": 0.05}), 6, "same")
    run.start()
    while run.status == RUNNING and max(member.epoch for member in run.members) < 2000:
        run.train(0.05)
    summary = run.summary()
    epochs = [epoch for epoch in run.reached if epoch is not None]
    assert summary["rule"] == "test loss below 0.05"
    assert summary["reached"] == len(epochs) > 0
    assert summary["reachedMedian"] == pytest.approx(np.median(epochs))
    assert (summary["reachedMin"], summary["reachedMax"]) == (min(epochs), max(epochs))
    for member, epoch in zip(run.members, run.reached, strict=True):
        if epoch is not None:  # a member stopped where its rule held, and stays there
            assert member.status == STOPPED and member.epoch == epoch and member.test_loss < 0.05
    losses = [member.test_loss for member in run.members]
    assert summary["testLosses"] == losses
    assert summary["median"] == pytest.approx(np.median(losses), abs=1e-15)
    assert (summary["low"], summary["high"]) == pytest.approx(tuple(np.percentile(losses, [10, 90])), abs=1e-15)


def test_without_a_stop_rule_nothing_is_reached():
    run = SeedRun(TrainingSession({"seed": "0.7"}), 2, "same")
    run.start()
    run.train(60.0, max_epochs=3)
    summary = run.summary()
    assert summary["rule"] is None and summary["reached"] == 0 and summary["reachedMedian"] is None
    assert summary["epochs"] == [3, 3] and summary["status"] == RUNNING


def test_a_diverged_member_is_an_infinite_loss_and_does_not_stop_the_others():
    run = SeedRun(TrainingSession({"seed": "0.7", "learningRate": 3, "activation": "relu"}), 3, "same")
    run.start()
    run.members[0].trainer.net.flat.data[0] = math.inf  # one member's weights blow up
    run.train(60.0, max_epochs=2)
    summary = run.summary()
    assert summary["statuses"][0] == DIVERGED and summary["testLosses"][0] is None
    assert summary["epochs"][0] == 1 and summary["epochs"][1:] == [2, 2]
    assert summary["high"] is None  # the 90th percentile of three with one infinite


def test_adopting_a_member_goes_on_exactly_as_that_member_would():
    main = TrainingSession(STATEFUL)
    run, twin = SeedRun(main, 3, "redrawn"), SeedRun(main, 3, "redrawn")
    for seeds in (run, twin):
        seeds.start()
        seeds.train(60.0, max_epochs=12)
    main.take_over(run.take(1))
    assert main.status == STOPPED and main.epoch == 12 and len(run) == 0
    assert main.config["seed"] == twin.seeds[1]
    continued = twin.members[1]
    main.start()
    main.train_for(60.0, max_epochs=9)
    continued.train_for(60.0, max_epochs=9)
    assert_same_run(main, continued)
    assert main.url_hash() == continued.url_hash()


def test_the_benchmark_counts_both_ways_in_one_run():
    from bench.seeds import measure, update_cost

    figures = measure(runs=3, seconds=0.2, rounds=1)
    for data in ("same", "redrawn"):
        row = figures[data]
        assert row["group_epochs_per_second"] > 0 and row["one_after_another_epochs_per_second"] > 0
        assert row["speed_up"] > 0 and isinstance(row["met"], bool)  # no figure is asserted: the lead reruns it
    assert update_cost(3)["bytes"] > 0
