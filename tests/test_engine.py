"""The batched engine: every member of a group stays exactly what it would be alone (a group of one), for every
option; the batched optimizers are torch.optim's; losses overflow to Infinity; the JSON export carries the whole
training state; frames drawn in batches are each member's own."""

import json
import math

import pytest
import torch

from bench.load import mixed_config
from playground import features, frames, history
from playground.network import PlaygroundNet, Shape, Trainer, TrainerGroup, plan_groups, step_cost
from playground.session import DIVERGED, RUNNING, STOPPED, TrainingSession, render_frames, train_group
from tests.test_network import TORCH_OPTIMIZERS, make_problem
from tests.tf_reference import ReferenceNetwork

EXACT = 1e-12


def member(config: dict, index: int, running: bool = True) -> TrainingSession:
    """The index-th member of a group for this config: its own seed (data and weights), learning rate,
    regularization rate and momentum, and `index` epochs of training before it joins (a different carry)."""
    session = TrainingSession(
        {
            **config,
            "seed": f"member{index}",
            "learningRate": (0.03, 0.1, 0.01, 0.003)[index],
            "regularizationRate": (0.003, 0.03, 0, 0.1)[index] if "regularization" in config else 0,
            "momentum": (0.9, 0.5, 0.95, 0.99)[index],
        }
    )
    for _ in range(index):
        session.step()
    if running:
        session.status = RUNNING
    return session


def group_and_twins(config: dict, size: int = 4) -> tuple[list, list]:
    """Members to train as a group and identical twins to train alone."""
    return [member(config, i) for i in range(size)], [member(config, i) for i in range(size)]


def assert_same(grouped: TrainingSession, alone: TrainingSession) -> None:
    assert (grouped.epoch, grouped.status, grouped.stop_reason) == (alone.epoch, alone.status, alone.stop_reason)
    for mine, theirs in (
        (grouped.train_loss, alone.train_loss),
        (grouped.test_loss, alone.test_loss),
        (grouped.train_accuracy, alone.train_accuracy),
        (grouped.test_accuracy, alone.test_accuracy),
    ):
        assert mine == theirs if theirs is None else mine == pytest.approx(theirs, abs=EXACT, rel=0, nan_ok=True)
    a, b = grouped.trainer, alone.trainer
    assert torch.allclose(grouped.net.flat, alone.net.flat, atol=EXACT, rtol=0, equal_nan=True)
    assert (a.carried, a.steps) == (b.carried, b.steps)
    assert torch.equal(a.dead, b.dead)
    if a.carried:
        assert torch.allclose(a.accumulated, b.accumulated, atol=EXACT, rtol=0, equal_nan=True)
    for name, state in a.optimizer_state.items():
        assert torch.allclose(state, b.optimizer_state[name], atol=EXACT, rtol=0, equal_nan=True)


# Every activation, regularization kind, optimizer, loss and the regression output; batches with a partial batch
# (7 or 30 on 250 points), batch 1 and the default 10; one hidden layer, three, and extra input features.
CASES = [
    {"activation": "tanh"},
    {"activation": "relu", "batchSize": 7},
    {"activation": "sigmoid", "batchSize": 1, "networkShape": [3]},
    {"activation": "linear", "regularization": "L2", "batchSize": 7},
    {"regularization": "L1", "batchSize": 7, "learningRate": 0.3},
    {"optimizer": "momentum", "batchSize": 7, "regularization": "L2"},
    {"optimizer": "adam", "loss": "crossEntropy", "batchSize": 7, "regularization": "L1"},
    {"optimizer": "rmsprop", "regularization": "L2", "batchSize": 30},
    {"problem": "regression", "regDataset": "reg-gauss", "activation": "relu", "batchSize": 7, "optimizer": "adam"},
    {
        "loss": "crossEntropy",
        "batchSize": 7,
        "networkShape": [6, 4, 2],
        "xSquared": True,
        "sinY": True,
        "optimizer": "momentum",
    },
]


@pytest.mark.parametrize("config", CASES, ids=lambda config: ",".join(f"{k}={v}" for k, v in config.items()))
def test_every_member_of_a_group_is_exactly_its_solo_run(config):
    group, twins = group_and_twins(config)
    assert len({session.signature for session in group}) == 1
    assert len({session.trainer.carried for session in group}) == (2 if 250 % group[0].trainer.kind.batch_size else 1)
    for _ in range(3):  # epoch by epoch
        assert train_group(group, 60, [1] * 4) == [1] * 4
        for twin in twins:
            twin.step()
        for grouped, alone in zip(group, twins, strict=True):
            assert_same(grouped, alone)
    # Leaving mid-call: after 1 and 4 epochs (max_epochs), after 2 (a stop rule), with no limit of its own.
    for session in (group[2], twins[2]):
        session.update_config({"stopAfterEpochs": session.epoch + 2})
    assert train_group(group, 60, [1, 4, None, 2]) == [1, 4, 2, 2]
    for twin, epochs in zip(twins, (1, 4, None, 2), strict=True):
        twin.train_for(60, epochs)
    assert group[2].status == STOPPED and group[2].stop_reason
    for grouped, alone in zip(group, twins, strict=True):
        assert_same(grouped, alone)
    # The members left with their exact state: together again, they go on as their twins alone.
    for session in group + twins:
        session.update_config({"stopAfterEpochs": 0})
        session.status = RUNNING
    train_group(group, 60, [2] * 4)
    for twin in twins:
        twin.train_for(60, 2)
    for grouped, alone in zip(group, twins, strict=True):
        assert_same(grouped, alone)
    if config.get("regularization") == "L1" and config.get("learningRate"):
        assert any(session.trainer.dead.any() for session in group), "a strong L1 should kill some links"


# Networks of several shapes and activations in one group: no hidden layer, three, six; widths 1 to 8; one to seven
# input features; every hidden activation.
MIXED_NETWORKS = [
    {"networkShape": [], "activation": "relu", "x": False, "sinX": True},
    {"networkShape": [8, 1, 3], "activation": "sigmoid", "xSquared": True, "xTimesY": True},
    {"networkShape": [2, 5, 2, 8, 1, 2], "activation": "linear", **{name: True for name in features.FEATURES}},
    {"networkShape": [4, 2], "activation": "tanh"},
]
# What a group must share: each kind of update, with a partial batch and its carry, L1's dead links, every optimizer,
# cross-entropy, and regression (its data has other point counts than classification's).
MIXED_KINDS = [
    {"batchSize": 7},
    {"batchSize": 7, "regularization": "L1", "learningRate": 0.3},
    {"optimizer": "momentum", "batchSize": 30, "regularization": "L2"},
    {"optimizer": "adam", "batchSize": 7, "regularization": "L1"},
    {"optimizer": "rmsprop", "loss": "crossEntropy", "batchSize": 7},
    {"problem": "regression", "regDataset": "reg-gauss", "batchSize": 7, "regularization": "L2"},
]


@pytest.mark.parametrize("kind", MIXED_KINDS, ids=lambda kind: ",".join(f"{k}={v}" for k, v in kind.items()))
def test_networks_of_every_shape_and_activation_train_as_one_group_each_exactly_its_solo_run(kind):
    group = [member({**network, **kind}, i) for i, network in enumerate(MIXED_NETWORKS)]
    twins = [member({**network, **kind}, i) for i, network in enumerate(MIXED_NETWORKS)]
    assert len({session.signature for session in group}) == 1
    assert len({session.frame_signature for session in group}) == len(group)
    together = TrainerGroup([session.trainer for session in group])
    assert together.layer_sizes == [7, 4, 5, 4, 8, 4, 3, 1]
    with pytest.raises(ValueError, match="one shape"):  # frames are drawn per shape (session.frame_signature)
        frames.render(together, group[0].grid_inputs, [None] * len(group))
    for epochs in ([2] * 4, [1, 3, 4, 2], [3] * 4):  # leaving mid-call, then all together again
        counts = train_group(group, 60, epochs)
        for twin, count in zip(twins, counts, strict=True):
            assert twin.train_for(60, count) == count
        for grouped, alone in zip(group, twins, strict=True):
            assert_same(grouped, alone)
        for session in group:
            session.status = RUNNING
    if kind.get("regularization") == "L1" and kind.get("learningRate"):
        assert any(session.trainer.dead.any() for session in group), "a strong L1 should kill some links"
    # A checkpoint taken in the envelope is the member's own state: it restores into its twin exactly.
    trainers = [session.trainer for session in group]
    checkpoint = history.capture(TrainerGroup(trainers), 2, 0, group[2].trainer.evaluate(), {}, None)
    own = history.capture_trainer(twins[2].trainer, 0, twins[2].trainer.evaluate(), {}, None)
    size = twins[2].net.flat.numel()

    def kept(c):  # the summed gradients count only while samples are carried
        return c.state if c.carried else torch.cat([c.state[:size], c.state[2 * size :]])

    assert (checkpoint.carried, checkpoint.steps) == (own.carried, own.steps)
    assert torch.allclose(kept(checkpoint), kept(own), atol=EXACT, rtol=0)


def test_an_overflow_in_a_padded_network_reads_infinity_as_alone():
    config = {"activation": "relu", "networkShape": [2, 2], "problem": "regression", "regDataset": "reg-plane"}
    wide = member({**config, "networkShape": [8, 8], "activation": "tanh"}, 1, running=False)
    session = member(config, 0, running=False)
    session.set_parameter(0, 0, 0, 1e308)  # the first hidden neuron is Infinity where x > 1.8 ...
    session.set_parameter(1, 0, 0, 1.0)  # ... so is one neuron of the second, the other 0: the output is ±Infinity
    session.set_parameter(1, 1, 0, -1.0)
    alone = session.trainer.evaluate()
    padded = TrainerGroup([session.trainer, wide.trainer]).evaluate()[0]
    assert math.isinf(alone.test_loss) and padded == alone


def test_a_diverging_member_leaves_and_the_others_go_on_untouched():
    config = {"problem": "regression", "activation": "relu", "regularization": "L2", "batchSize": 1}
    group, twins = group_and_twins(config, 3)
    for session in (group[1], twins[1]):
        session.update_config({"learningRate": 10, "regularizationRate": 10})  # a reset: it stops
        session.status = RUNNING
    counts = train_group(group, 60, [12] * 3)
    assert group[1].status == DIVERGED and counts[1] < 12 and counts[0] == counts[2] == 12
    for twin, count in zip(twins, counts, strict=True):
        assert twin.train_for(60, 12) == count
    for grouped, alone in zip(group, twins, strict=True):
        assert_same(grouped, alone)


def test_a_group_trained_turn_after_turn_sees_each_members_new_data():
    """The stacked data is kept from turn to turn: a member whose data changed in between (new points, the same
    counts) must train on its new data, exactly as alone."""
    group, twins = group_and_twins({}, 3)
    for _ in range(3):
        train_group(group, 60, [2] * 3)
        for twin in twins:
            twin.train_for(60, 2)
        for session in (group[1], twins[1]):
            session.regenerate()  # new points, same counts and signature: only the data's identity tells
        for grouped, alone in zip(group, twins, strict=True):
            assert_same(grouped, alone)
    assert group[1].data.train_points.tolist() == twins[1].data.train_points.tolist()


def test_only_training_keeps_a_stack_of_data_for_the_next_turn():
    """A network that is only evaluated (an event changed it) keeps no stacked buffers: they are most of a stopped
    session's memory (half a megabyte for a 6x8 network). A trained one keeps its group's for the next turn."""
    (session,) = group_and_twins({"networkShape": [8, 8, 8, 8, 8, 8]}, 1)[0]
    session.status = STOPPED
    session.update_config({"learningRate": 0.1})
    assert session.trainer.stacked is None
    session.status = RUNNING
    train_group([session], 0, [1])
    assert session.trainer.stacked is not None


def test_time_is_up_after_one_epoch_each_at_least():
    group, _ = group_and_twins({}, 3)
    assert train_group(group, 0, [None] * 3) == [1, 1, 1]
    assert [session.epoch for session in group] == [1, 2, 3]


def test_a_group_needs_running_members_of_one_signature():
    group, _ = group_and_twins({}, 2)
    other = member({"batchSize": 7}, 0)
    with pytest.raises(ValueError, match="signature"):
        train_group([*group, other], 1, [1] * 3)
    with pytest.raises(ValueError, match="frame signature"):
        render_frames([*group, member({"networkShape": [3]}, 0)], [None] * 3)
    group[1].status = STOPPED
    with pytest.raises(ValueError, match="running"):
        train_group(group, 1, [1, 1])
    with pytest.raises(ValueError):
        train_group(group, 1, [1])
    assert [session.epoch for session in group] == [0, 1]


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_batched_optimizers_are_torch_optim(optimizer):
    # 40 points in batches of 7: 5 updates an epoch and a carry of 5 into the next one; 30 epochs, 150 steps.
    sizes, batch, learning_rate, momentum = [2, 5, 3, 1], 7, 0.01, 0.5
    inputs, labels, rnd = make_problem(sizes, 40, 10, seed=8)
    net = PlaygroundNet(sizes, "tanh", "tanh")
    net.init_parameters(rnd.random)
    model = PlaygroundNet(sizes, "tanh", "tanh")
    model.set_parameters(*net.get_parameters())
    torch_optimizer = TORCH_OPTIMIZERS[optimizer](list(model.parameters()))
    torch_optimizer.param_groups[0]["lr"] = learning_rate
    if optimizer == "momentum":
        torch_optimizer.param_groups[0]["momentum"] = momentum
    trainer = Trainer(net, optimizer=optimizer)
    trainer.set_data(inputs[:40], labels[:40], inputs[40:], labels[40:], batch)
    waiting = 0
    for _ in range(30):
        for start in range(0, 40, batch):
            x, y = inputs[:40][start : start + batch], labels[:40][start : start + batch]
            (0.5 * (model(x).view(-1) - y) ** 2).sum().backward()  # gradients add up across the carry
            waiting += len(x)
            if len(x) == batch:
                with torch.no_grad():
                    for parameter in model.parameters():
                        assert parameter.grad is not None
                        parameter.grad /= waiting
                torch_optimizer.step()
                torch_optimizer.zero_grad()
                waiting = 0
        trainer.train_epoch(learning_rate, 0, momentum)
        assert torch.allclose(net.flat, model.flat, atol=EXACT, rtol=0)


def test_an_overflowing_test_point_makes_the_test_loss_infinite_and_nothing_else():
    net = PlaygroundNet([1, 1], "tanh", "linear")
    net.set_parameters([[[1e200]]], [[0.0]])
    trainer = Trainer(net)
    train = torch.tensor([[1e-200], [2e-200]], dtype=torch.float64)
    test = torch.tensor([[1.0], [0.0]], dtype=torch.float64)  # ŷ = 1e200 on the first: ŷ² overflows
    trainer.set_data(train, torch.zeros(2, dtype=torch.float64), test, torch.zeros(2, dtype=torch.float64), 2)
    evaluation = trainer.evaluate()
    assert evaluation.test_loss == math.inf
    assert evaluation.train_loss == pytest.approx(0.5 * (1 + 4) / 2, abs=EXACT)


def test_a_session_alone_is_the_tf_reference():
    # What network.run_epochs() used to show, through the session: its own data and weights against the port.
    session = TrainingSession(
        {"seed": "ref", "activation": "relu", "regularization": "L2", "regularizationRate": 0.01, "batchSize": 7}
    )
    train_x, train_y = session.data.train_points.tolist(), session.data.train_labels.tolist()
    test_x, test_y = session.data.test_points.tolist(), session.data.test_labels.tolist()
    reference = ReferenceNetwork(*session.net.get_parameters(), "relu", "tanh", "L2")
    for _ in range(4):
        session.step()
        reference.epoch(train_x, train_y, 7, 0.03, 0.01)
        assert session.train_loss == pytest.approx(reference.loss(train_x, train_y), abs=EXACT)
        assert session.test_loss == pytest.approx(reference.loss(test_x, test_y), abs=EXACT)
    weights, _, _ = reference.parameters()
    assert session.net.get_parameters()[0] == [
        [[pytest.approx(w, abs=EXACT) for w in row] for row in layer] for layer in weights
    ]


def through_json(exported: dict) -> dict:
    return json.loads(json.dumps(exported, allow_nan=False))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_an_imported_network_goes_on_exactly_as_the_exported_one(optimizer):
    config = {
        "seed": "x",
        "optimizer": optimizer,
        "batchSize": 7,
        "regularization": "L1",
        "regularizationRate": 0.01,
        "learningRate": 0.1,
    }
    original = TrainingSession(config)
    original.train_for(60, 3)
    assert original.trainer.carried == 250 % 7
    exported = through_json(original.export_json())
    imported, without_training = TrainingSession(), TrainingSession()
    imported.import_json(exported)
    without_training.import_json({name: value for name, value in exported.items() if name != "training"})
    for session in (original, imported, without_training):
        session.train_for(60, 4)
    assert_same(imported, original)
    # Without its training state the same file goes on differently: the test above can fail.
    assert not torch.allclose(without_training.net.flat, original.net.flat, atol=EXACT, rtol=0)


@pytest.mark.parametrize(
    "field,value,named",
    [
        ("carried", -1, "training.carried"),
        ("carried", 30, "training.carried"),
        ("carried", True, "training.carried"),
        ("steps", 1.5, "training.steps"),
        ("accumulated", [[[0.0]]], "training.accumulated"),
        ("accumulated", "junk", "training.accumulated"),
        ("optimizerState", {}, "training.optimizerState"),
    ],
)
def test_import_names_a_bad_training_field_and_changes_nothing(field, value, named):
    source = TrainingSession({"seed": "y", "optimizer": "adam", "batchSize": 7})
    source.train_for(60, 2)
    exported = through_json(source.export_json())
    exported["training"][field] = value
    session = TrainingSession({"seed": "z"})
    before = (session.net.get_parameters(), session.config["seed"], session.epoch)
    with pytest.raises(ValueError, match=named):
        session.import_json(exported)
    assert (session.net.get_parameters(), session.config["seed"], session.epoch) == before


def test_non_finite_numbers_travel_as_null_and_only_for_a_diverged_network():
    diverged = TrainingSession(
        {
            "problem": "regression",
            "activation": "relu",
            "regularization": "L2",
            "regularizationRate": 10,
            "learningRate": 10,
            "batchSize": 1,
        }
    )
    diverged.train_for(60, 40)
    assert diverged.status == DIVERGED
    exported = through_json(diverged.export_json())  # JSON without NaN or Infinity
    imported = TrainingSession()
    imported.import_json(exported)
    assert imported.status == DIVERGED and not torch.isfinite(imported.net.flat).all()
    healthy = TrainingSession({"seed": "h", "batchSize": 7})
    healthy.step()
    exported = through_json(healthy.export_json())
    exported["training"]["accumulated"][0][0][0] = None  # a NaN that the losses would not show
    with pytest.raises(ValueError, match="diverged"):
        TrainingSession().import_json(exported)


def test_frames_drawn_together_are_each_members_own(monkeypatch):
    group = [member({"networkShape": [3, 2], "sinX": True}, i, running=False) for i in range(4)]
    focuses = [None, 0, 5, 7]  # of 3 inputs and 3 + 2 + 1 neurons
    monkeypatch.setattr(frames, "PASS_BYTES", 1)  # one member per pass
    one_by_one = render_frames(group, focuses)
    monkeypatch.undo()
    together = render_frames(group, focuses)  # all four in one pass
    grid = features.feature_matrix(frames.grid_points(), group[0].feature_names)
    for session, focus, frame, alone in zip(group, focuses, together, one_by_one, strict=True):
        assert frame == alone == session.frame(focus)
        with torch.no_grad():
            output = session.net(grid).view(-1)
        if focus is None:
            assert frame.heatmap == frames.quantize(output)
        assert len(frame.thumbnails) == sum(session.net.layer_sizes) * 100
    assert together[0].heatmap != together[1].heatmap


def test_groups_are_planned_so_that_no_network_makes_the_others_step_slower_than_apart():
    default, largest = Shape((2, 4, 2, 1), ("tanh",) * 3), Shape((7, *[8] * 6, 1), ("tanh",) * 7)
    assert plan_groups([default] * 30) == [list(range(30))]
    # One learner's large network trains apart: in the class's envelope it would make every step as deep as its own.
    assert plan_groups([default] * 29 + [largest]) == [list(range(29)), [29]]
    assert step_cost([(default, 29), (largest, 1)]) > step_cost([(default, 29)]) + step_cost([(largest, 1)])
    # Thirty different networks train in a few envelopes, each network in exactly one.
    shapes = [TrainingSession(mixed_config(index)).trainer.shape for index in range(30)]
    groups = plan_groups(shapes)
    assert sorted(index for group in groups for index in group) == list(range(30))
    assert len(groups) < len(set(shapes)) / 3
    for group in groups:
        cohorts = [(shape, [shapes[i] for i in group].count(shape)) for shape in {shapes[i] for i in group}]
        assert step_cost(cohorts) <= sum(step_cost([cohort]) for cohort in cohorts)
