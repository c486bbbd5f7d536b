"""Time travel (playground/history.py) and saved experiments (playground/saved.py): the checkpoint policy, capture
and restore to the bit, forks and their labels, and the saved bytes' round trip."""

import json
import struct
import zlib

import numpy as np
import pytest
import torch

from playground import history, saved
from playground.datasets import DataSplit
from playground.network import Evaluation
from playground.options import ConfigError
from playground.session import RUNNING, STOPPED, TrainingSession, train_group

# Each exercises a piece of the training state: the partial batch's carry (batch 7 of 250 points), the optimizers'
# state and step counts, L1's dead links, cross-entropy.
CONFIGS = {
    "sgd, carried batch": {"batchSize": 7},
    "momentum": {"optimizer": "momentum", "batchSize": 3},
    "adam, L1": {"optimizer": "adam", "regularization": "L1", "regularizationRate": 0.03, "learningRate": 0.01},
    "rmsprop, cross-entropy, L2": {
        "optimizer": "rmsprop",
        "loss": "crossEntropy",
        "regularization": "L2",
        "regularizationRate": 0.001,
        "learningRate": 0.003,
    },
}


def trained(config: dict, epochs: int) -> tuple[TrainingSession, dict]:
    """A session trained `epochs` epochs, and its losses after every epoch."""
    session = TrainingSession({"seed": "travel", "dataset": "spiral", **config})
    return session, {0: (session.train_loss, session.test_loss), **losses_after(session, epochs)}


def losses_after(session: TrainingSession, epochs: int) -> dict:
    session.start()
    losses = {}
    for _ in range(epochs):
        session.train_for(10.0, max_epochs=1)
        losses[session.epoch] = (session.train_loss, session.test_loss)
    return losses


NO_DATA = DataSplit(*(np.zeros((0, 2)), np.zeros(0)) * 2)


def same_training_state(one: TrainingSession, other: TrainingSession) -> bool:
    """Equal weights, optimizer state, steps, carry and dead links; the summed gradient only when samples are
    carried (otherwise nothing reads it, and a saved experiment leaves it out)."""
    a, b, size = one.checkpoint(), other.checkpoint(), one.net.flat.numel()
    used = slice(None) if a.carried else torch.cat([torch.arange(size), torch.arange(2 * size, a.state.numel())])
    dead_equal = (a.dead is None and b.dead is None) or (
        a.dead is not None and b.dead is not None and torch.equal(a.dead, b.dead)
    )
    return torch.equal(a.state[used], b.state[used]) and (a.carried, a.steps) == (b.carried, b.steps) and dead_equal


def fake_checkpoint(epoch: int) -> history.Checkpoint:
    return history.Checkpoint(epoch, torch.zeros(1), None, 0, 0, Evaluation(0.0, 0.0, None, None), {}, NO_DATA)


def test_checkpoints_are_dense_recently_sparse_further_back_and_bounded():
    run = history.History(fake_checkpoint(0))
    counts = {}
    for epoch in range(history.CHECKPOINT_EVERY, 3_000_001, history.CHECKPOINT_EVERY):
        run.keep(fake_checkpoint(epoch))
        if epoch in (10_000, 100_000, 1_000_000, 3_000_000):
            counts[epoch] = len(run.checkpoints())
    kept = sorted(run.checkpoints())
    assert kept[0] == 0  # where the run started stays
    recent = [e for e in kept if e > 3_000_000 - history.CHECKPOINT_SLOTS * history.CHECKPOINT_EVERY // 2]
    assert recent == list(range(recent[0], 3_000_001, history.CHECKPOINT_EVERY))  # every 10 epochs lately
    assert all(e % history.spacing(3_000_000 - e) == 0 for e in kept[1:])
    # About CHECKPOINT_SLOTS / 2 more per doubling of the run: an hour of training (~3 million epochs) keeps ~250.
    assert counts[3_000_000] < 300
    assert counts[10_000] < counts[100_000] < counts[1_000_000] < counts[3_000_000]


def test_the_loss_curve_keeps_every_epoch_until_full_then_halves():
    curve = history.LossCurve()
    for epoch in range(history.MAX_LOSS_POINTS - 1):
        curve.add(epoch, float(epoch), -float(epoch))
    assert curve.epochs == list(range(history.MAX_LOSS_POINTS - 1)) and curve.stride == 1
    for epoch in range(history.MAX_LOSS_POINTS - 1, 10 * history.MAX_LOSS_POINTS):
        curve.add(epoch, float(epoch), -float(epoch))
    assert len(curve.epochs) < history.MAX_LOSS_POINTS
    assert all(e % curve.stride == 0 for e in curve.epochs) and curve.train == [float(e) for e in curve.epochs]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_replaying_from_a_checkpoint_gives_the_same_losses_to_the_bit(config):
    session, losses = trained(config, 80)
    assert 30 in session.history.checkpoints()
    branch = session.fork(30, {})
    assert branch.label == "replay at epoch 30"
    assert session.epoch == 30 and (session.train_loss, session.test_loss) == losses[30]
    replayed = losses_after(session, 50)
    assert replayed == {epoch: losses[epoch] for epoch in range(31, 81)}


def test_a_checkpoint_restores_the_whole_training_state():
    session, _ = trained({**CONFIGS["adam, L1"], "batchSize": 7}, 40)
    before = session.checkpoint()
    assert before.dead is not None and before.carried == 250 % 7 and before.steps == 40 * (250 // 7)
    losses_after(session, 7)
    history.restore(before, session.trainer)
    after = session.checkpoint()
    assert after.dead is not None and before.dead is not None and torch.equal(after.dead, before.dead)
    assert torch.equal(after.state, before.state)
    assert (after.carried, after.steps) == (before.carried, before.steps)


def test_checkpoints_captured_in_a_batched_group_are_each_members_own_state():
    alone, _ = trained({"batchSize": 7}, 20)
    members = [TrainingSession({"seed": seed, "dataset": "spiral", "batchSize": 7}) for seed in ("travel", "other")]
    for member in members:
        member.start()
    while members[0].epoch < 20:
        train_group(members, 10.0, [20 - members[0].epoch] * 2)
    grouped, solo = members[0].history.checkpoints()[20], alone.history.checkpoints()[20]
    assert torch.allclose(grouped.state, solo.state, rtol=0, atol=1e-12)
    assert grouped.carried == solo.carried == 250 % 7 and grouped.data is members[0].data


def test_a_fork_changes_what_it_names_labels_the_branch_and_keeps_both_curves():
    session, losses = trained({}, 60)
    branch = session.fork(30, {"regularization": "L2", "regularizationRate": 0.01, "learningRate": 0.01})
    assert branch.label == "L2 0.01, learning rate 0.01 at epoch 30"
    assert session.config["regularization"] == "L2" and session.trainer.regularization == "L2"
    assert session.status == RUNNING  # it trains on
    changed = losses_after(session, 20)
    assert changed[31] != losses[31]
    first, second = session.history.branches.values()
    assert session.history.curve(first).epochs == list(range(61))
    curve = session.history.curve(second)
    assert curve.epochs == list(range(51))
    assert curve.train[:31] == session.history.curve(first).train[:31] and curve.train[30] == losses[30][0]
    assert curve.train[31:] == [changed[e][0] for e in range(31, 51)]
    # The checkpoints on the new line: the old branch's up to the fork, then the new one's.
    assert sorted(session.history.checkpoints()) == [0, 10, 20, 30, 40, 50]


def test_a_fork_refuses_what_a_branch_cannot_change_and_changes_nothing():
    session, _ = trained({}, 25)
    before = session.checkpoint()
    for epoch, changes, field in (
        (20, {"batchSize": 3}, "batchSize"),
        (20, {"learningRate": -1}, "learningRate"),
        (15, {}, "epoch"),
        ("20", {}, "epoch"),
        (20, [], "changes"),
    ):
        with pytest.raises(ConfigError) as problem:
            session.fork(epoch, changes)
        assert field in problem.value.errors
    assert torch.equal(session.checkpoint().state, before.state) and len(session.history.branches) == 1
    session.fork(25, {"learningRate": 0.1})  # the current epoch is always a place to fork
    assert session.epoch == 25 and session.config["learningRate"] == 0.1


def test_a_view_at_a_checkpoint_leaves_the_live_run_alone():
    session, losses = trained({}, 45)
    live = session.checkpoint()
    view = session.at_epoch(22)
    assert view.epoch == 20 and (view.train_loss, view.test_loss) == losses[20] and view.status == STOPPED
    assert not torch.equal(view.net.flat, session.net.flat)
    assert torch.equal(view.net.flat, session.history.checkpoints()[20].state[: view.net.flat.numel()])
    assert torch.equal(session.checkpoint().state, live.state) and session.epoch == 45 and session.status == RUNNING
    with pytest.raises(ConfigError):
        session.at_epoch(-1)


def test_a_new_network_starts_a_new_history():
    session, _ = trained({}, 30)
    session.reset()
    assert sorted(session.history.checkpoints()) == [0] and len(session.history.branches) == 1


def test_a_saved_experiment_opens_exactly_and_trains_on_as_the_saved_one_would():
    session, _ = trained(CONFIGS["adam, L1"], 47)
    session.add_point(1.5, -2.0, 1, "train")
    session.erase_points(-3.0, 3.0, 1.0)
    losses_after(session, 5)
    session.fork(40, {"learningRate": 0.003})
    losses_after(session, 3)
    blob = saved.pack(session, "my run", "L1 kills links")
    opened, head = saved.unpack(blob)
    assert (head["title"], head["note"]) == ("my run", "L1 kills links")
    assert opened.epoch == session.epoch and opened.status == STOPPED
    assert same_training_state(opened, session)
    assert [len(opened.data.train_labels), len(opened.data.test_labels)] == [
        len(session.data.train_labels),
        len(session.data.test_labels),
    ]
    assert [b.label for b in opened.history.branches.values()] == [b.label for b in session.history.branches.values()]
    assert sorted(opened.history.checkpoints()) == sorted(session.history.checkpoints())
    assert opened.history.curve().train == session.history.curve().train
    assert losses_after(opened, 20) == losses_after(session, 20)
    assert opened.initial_parameters == session.initial_parameters
    assert opened.rng.random() == session.rng.random()  # the random stream goes on where it was


def test_a_saved_experiment_keeps_its_random_stream_wherever_it_was():
    session, _ = trained({}, 3)
    drawn = [session.rng.random() for _ in range(700)]  # past the bytes made ahead at creation
    opened, _ = saved.unpack(saved.pack(session))
    assert opened.rng.state() == session.rng.state()
    assert [opened.rng.random() for _ in range(700)] == [session.rng.random() for _ in range(700)] != drawn


def test_a_first_version_saved_experiment_still_opens_with_a_new_stream_of_its_seed():
    session, _ = trained({}, 3)
    raw = zlib.decompress(saved.pack(session)[len(saved.MAGIC) :])
    (length,) = struct.unpack_from("<I", raw)
    head = json.loads(raw[4 : 4 + length])
    head["rng"] = [3, 7, list(range(256))]  # version 1 kept ARC4's inner state
    text = json.dumps(head, separators=(",", ":")).encode()
    first = saved.FIRST_VERSION_MAGIC + zlib.compress(struct.pack("<I", len(text)) + text + raw[4 + length :])
    opened, _ = saved.unpack(first)
    assert same_training_state(opened, session)
    assert opened.rng.state() == [session.config["seed"], TrainingSession(session.config).rng.state()[1]]


def test_saved_bytes_are_compact_and_bad_bytes_are_refused():
    session, _ = trained({}, 300)
    blob = saved.pack(session)
    assert len(blob) < 60_000  # the data (500 points) and about 30 checkpoints of 25 weights, compressed
    for bad in (b"", b"not a saved experiment", saved.MAGIC + b"garbage", blob[:-20]):
        with pytest.raises(saved.SavedError):
            saved.unpack(bad)


def test_the_benchmarks_saved_run_forks_at_a_kept_checkpoint_after_a_long_run():
    # After 900 epochs the early checkpoints are thinned out: the middle epoch (450) is not one of them.
    from bench.history import saved_bytes

    figures = saved_bytes(epochs=900)
    for row in figures.values():
        assert row["bytes_with_a_fork"] > row["bytes"] > 0  # no figure is asserted: the lead reruns it
