"""The engine against the per-neuron reference, hand-computed cases and torch.autograd."""

import math
import random

import pytest
import torch

from playground.network import PlaygroundNet, Trainer
from tests.tf_reference import ReferenceNetwork


def make_problem(sizes, n_train, n_test, seed=0, output="tanh"):
    rnd = random.Random(seed)
    inputs = torch.tensor(
        [[rnd.uniform(-6, 6) for _ in range(sizes[0])] for _ in range(n_train + n_test)], dtype=torch.float64
    )
    if output == "tanh":
        labels = torch.tensor([rnd.choice((-1.0, 1.0)) for _ in range(n_train + n_test)], dtype=torch.float64)
    else:
        labels = torch.tensor([rnd.uniform(-1.2, 1.2) for _ in range(n_train + n_test)], dtype=torch.float64)
    return inputs, labels, rnd


def engine_and_reference(sizes, n_train, n_test, batch):
    """A trainer on random data and the per-neuron reference, both starting from the same weights."""
    inputs, labels, rnd = make_problem(sizes, n_train, n_test)
    net = PlaygroundNet(sizes, "tanh", "tanh")
    net.init_parameters(rnd.random)
    reference = ReferenceNetwork(*net.get_parameters(), "tanh", "tanh")
    trainer = Trainer(net)
    trainer.set_data(inputs[:n_train], labels[:n_train], inputs[n_train:], labels[n_train:], batch)
    return trainer, reference, inputs[:n_train].tolist(), labels[:n_train].tolist()


def compare_with_reference(
    sizes,
    activation,
    output,
    regularization,
    reg_rate,
    batch,
    n_train=47,
    n_test=31,
    epochs=6,
    learning_rate=0.03,
    seed=0,
):
    inputs, labels, rnd = make_problem(sizes, n_train, n_test, seed, output)
    net = PlaygroundNet(sizes, activation, output)
    net.init_parameters(rnd.random)
    reference = ReferenceNetwork(*net.get_parameters(), activation, output, regularization)
    trainer = Trainer(net, regularization)
    trainer.set_data(inputs[:n_train], labels[:n_train], inputs[n_train:], labels[n_train:], batch)
    train_x, train_y = inputs[:n_train].tolist(), labels[:n_train].tolist()
    test_x, test_y = inputs[n_train:].tolist(), labels[n_train:].tolist()
    for _ in range(epochs):
        trainer.train_epoch(learning_rate, reg_rate)
        reference.epoch(train_x, train_y, batch, learning_rate, reg_rate)
        train_loss, test_loss = trainer.evaluate()[:2]
        assert train_loss == pytest.approx(reference.loss(train_x, train_y), abs=1e-9, rel=0)
        assert test_loss == pytest.approx(reference.loss(test_x, test_y), abs=1e-9, rel=0)
    ref_weights, ref_biases, ref_dead = reference.parameters()
    weights, biases = net.get_parameters()
    rows, ref_rows = [row for layer in weights for row in layer], [row for layer in ref_weights for row in layer]
    for mine, theirs in zip(rows + biases, ref_rows + ref_biases, strict=True):
        assert mine == pytest.approx(theirs, abs=1e-12)
    assert trainer.dead_links() == ref_dead
    return trainer, ref_dead


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("regularization,rate", [("none", 0), ("L1", 0.01), ("L2", 0.03)])
def test_matches_reference_for_every_activation_and_regularizer(activation, regularization, rate):
    compare_with_reference([2, 4, 2, 1], activation, "tanh", regularization, rate, batch=10)


@pytest.mark.parametrize("batch", [1, 7, 30, 47])
def test_partial_batches_carry_into_the_next_epoch(batch):
    # 47 training points: batch 7 leaves 5 over, batch 30 leaves 17.
    compare_with_reference([2, 3, 1], "tanh", "tanh", "none", 0, batch=batch, epochs=5)


def test_batch_larger_than_the_training_set_is_cut_to_it():
    # TF Playground's rule would never update (its sets are never that small); we train on the whole set.
    trainer, reference, x, y = engine_and_reference([2, 3, 1], 5, 3, batch=30)
    trainer.train_epoch(0.1, 0)
    reference.epoch(x, y, 5, 0.1, 0)
    assert trainer.kind.batch_size == 5
    assert trainer.evaluate()[:2][0] == pytest.approx(reference.loss(x, y), abs=1e-12)


def test_carry_changes_the_first_update_of_the_next_epoch():
    # With the carry, epoch 2's first update averages 17 + 30 samples; flushing the tail would differ.
    inputs, labels, rnd = make_problem([2, 3, 1], 47, 10)
    net = PlaygroundNet([2, 3, 1], "tanh", "tanh")
    net.init_parameters(rnd.random)
    trainer = Trainer(net)
    trainer.set_data(inputs[:47], labels[:47], inputs[47:], labels[47:], 30)
    trainer.train_epoch(0.1, 0)
    assert trainer.carried == 17


def test_regression_output_is_linear():
    compare_with_reference([2, 5, 1], "relu", "linear", "L2", 0.1, batch=5)


def test_largest_network_and_zero_hidden_layers():
    compare_with_reference([7, 8, 8, 8, 8, 8, 8, 1], "tanh", "tanh", "L1", 0.003, batch=30, learning_rate=0.1)
    compare_with_reference([2, 1], "tanh", "tanh", "none", 0, batch=1)


def test_l1_kills_links_and_they_stay_dead():
    trainer, dead = compare_with_reference(
        [2, 4, 2, 1], "tanh", "tanh", "L1", 0.3, batch=10, learning_rate=0.3, epochs=10
    )
    flat_dead = [d for layer in dead for row in layer for d in row]
    assert any(flat_dead), "a strong L1 should kill some links"
    weights = trainer.net.get_parameters()[0]
    for layer_w, layer_d in zip(weights, dead, strict=True):
        for row_w, row_d in zip(layer_w, layer_d, strict=True):
            for w, d in zip(row_w, row_d, strict=True):
                if d:
                    assert w == 0.0


def test_learning_rate_changes_between_epochs_without_reset():
    trainer, reference, x, y = engine_and_reference([2, 3, 1], 20, 10, batch=4)
    for rate in (0.03, 1.0, 0.001):
        trainer.train_epoch(rate, 0)
        reference.epoch(x, y, 4, rate, 0)
    assert trainer.evaluate()[:2][0] == pytest.approx(reference.loss(x, y), abs=1e-12)


def test_hand_computed_single_update():
    # One input, no hidden layer, linear output: ŷ = w·x + b. With x=2, y=1, w=0.5, b=0.1: ŷ=1.1, dE/dŷ=0.1,
    # dE/dw = 0.2, dE/db = 0.1. One update at learning rate 1: w = 0.3, b = 0.0.
    net = PlaygroundNet([1, 1], "tanh", "linear")
    net.set_parameters([[[0.5]]], [[0.1]])
    trainer = Trainer(net)
    x = torch.tensor([[2.0]], dtype=torch.float64)
    y = torch.tensor([1.0], dtype=torch.float64)
    trainer.set_data(x, y, x, y, 1)
    assert trainer.evaluate()[:2][0] == pytest.approx(0.5 * 0.1**2)
    trainer.train_epoch(1.0, 0)
    weights, biases = net.get_parameters()
    assert weights[0][0][0] == pytest.approx(0.3)
    assert biases[0][0] == pytest.approx(0.0)


def test_hand_computed_l2_uses_the_weight_before_the_step():
    # Same case with L2 at rate 0.5: w = 0.5 - 1·0.2 - 1·0.5·0.5 = 0.05 (penalty from the old weight, 0.5).
    net = PlaygroundNet([1, 1], "tanh", "linear")
    net.set_parameters([[[0.5]]], [[0.1]])
    trainer = Trainer(net, "L2")
    x, y = torch.tensor([[2.0]], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    trainer.set_data(x, y, x, y, 1)
    trainer.train_epoch(1.0, 0.5)
    assert net.get_parameters()[0][0][0][0] == pytest.approx(0.05)
    assert net.get_parameters()[1][0][0] == pytest.approx(0.0)  # biases are not regularized


def test_gradients_match_autograd():
    # 9 points in batches of 5: after an epoch the last 4 points' summed gradient waits in `accumulated`.
    sizes = [3, 5, 4, 1]
    for activation in ("tanh", "relu", "sigmoid", "linear"):
        inputs, labels, rnd = make_problem(sizes, 9, 1, seed=3)
        net = PlaygroundNet(sizes, activation, "tanh")
        net.init_parameters(rnd.random)
        trainer = Trainer(net)
        trainer.set_data(inputs[:9], labels[:9], inputs[9:], labels[9:], 5)
        trainer.train_epoch(0.1, 0)
        assert trainer.carried == 4
        # Autograd on the very same nn.Module: the summed loss's gradient is what the trainer accumulated.
        net.zero_grad()
        loss = 0.5 * ((net(inputs[5:9]).view(-1) - labels[5:9]) ** 2).sum()
        loss.backward()
        for layer, block in zip(net.layers, net.split(trainer.accumulated), strict=True):
            assert isinstance(layer, torch.nn.Sequential)
            linear = layer[0]
            assert isinstance(linear, torch.nn.Linear)
            assert linear.weight.grad is not None and linear.bias.grad is not None
            assert torch.allclose(block[:, :-1], linear.weight.grad, atol=1e-12, rtol=0)
            assert torch.allclose(block[:, -1], linear.bias.grad, atol=1e-12, rtol=0)


def test_module_forward_agrees_with_the_trainers_losses():
    inputs, labels, rnd = make_problem([7, 8, 8, 1], 30, 5)
    net = PlaygroundNet([7, 8, 8, 1], "sigmoid", "tanh")
    net.init_parameters(rnd.random)
    trainer = Trainer(net)
    trainer.set_data(inputs[:30], labels[:30], inputs[30:], labels[30:], 10)
    with torch.no_grad():
        point_losses = 0.5 * (net(inputs).view(-1) - labels) ** 2
    train_loss, test_loss = trainer.evaluate()[:2]
    assert train_loss == pytest.approx(point_losses[:30].mean().item(), abs=1e-14, rel=0)
    assert test_loss == pytest.approx(point_losses[30:].mean().item(), abs=1e-14, rel=0)


def test_initialisation_order_and_values():
    draws = iter([i / 100 for i in range(100)])
    net = PlaygroundNet([2, 3, 1], "tanh", "tanh")
    net.init_parameters(lambda: next(draws))
    weights, biases = net.get_parameters()
    assert weights[0] == [[-0.5, -0.49], [-0.48, -0.47], [-0.46, -0.45]]  # layer, to, from
    assert weights[1] == [[pytest.approx(-0.44), pytest.approx(-0.43), pytest.approx(-0.42)]]
    assert biases == [[0.1, 0.1, 0.1], [0.1]]
    zero = PlaygroundNet([2, 3, 1], "tanh", "tanh")
    remaining = iter(range(1000))
    zero.init_parameters(lambda: next(remaining) / 1000, zero=True)
    assert zero.get_parameters() == ([[[0.0, 0.0]] * 3, [[0.0] * 3]], [[0.0] * 3, [0.0]])
    assert next(remaining) == 9  # the 9 weight draws still happened


def test_set_parameters_rejects_wrong_shapes_and_keeps_old_values():
    net = PlaygroundNet([2, 2, 1], "tanh", "tanh")
    net.init_parameters(random.Random(0).random)
    before = net.get_parameters()
    with pytest.raises(ValueError, match="layer 1"):
        net.set_parameters([[[1, 2], [3, 4]], [[1, 2, 3]]], [[0, 0], [0]])
    assert net.get_parameters() == before


def test_divergence_gives_non_finite_losses_without_raising():
    inputs, labels, rnd = make_problem([2, 8, 8, 1], 50, 10)
    net = PlaygroundNet([2, 8, 8, 1], "relu", "linear")
    net.init_parameters(rnd.random)
    trainer = Trainer(net, "L2")
    trainer.set_data(inputs[:50], labels[:50] * 1e3, inputs[50:], labels[50:], 1)
    for _ in range(50):
        trainer.train_epoch(10, 10)
    assert not all(math.isfinite(v) for v in trainer.evaluate()[:2])


# torch.optim itself, with the defaults the engine's batched optimizers follow.
TORCH_OPTIMIZERS = {
    "momentum": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=0.1),
    "rmsprop": lambda params: torch.optim.RMSprop(params, lr=0.1),
}


def autograd_run(
    sizes,
    activation,
    output,
    loss_name,
    optimizer_name,
    batch,
    epochs,
    learning_rate,
    seed=4,
    regularization="none",
    reg_rate=0.0,
):
    """The same run written the obvious way: nn.Module, autograd, torch.optim, TF Playground's batching."""
    inputs, labels, rnd = make_problem(sizes, 40, 20, seed)
    net = PlaygroundNet(sizes, activation, output)
    net.init_parameters(rnd.random)
    start = net.get_parameters()
    model = PlaygroundNet(sizes, activation, output)
    model.set_parameters(*start)
    params = list(model.parameters())
    optimizer = TORCH_OPTIMIZERS[optimizer_name](params) if optimizer_name != "sgd" else None

    def loss_of(out, y):
        if loss_name == "crossEntropy":
            z = 2 * torch.atanh(out)  # the logit behind 2σ(z) − 1
            return torch.nn.functional.softplus(z) - z * (y + 1) / 2
        return 0.5 * (out - y) ** 2

    losses = []
    for _ in range(epochs):
        for start_row in range(0, 40, batch):
            x, y = inputs[start_row : start_row + batch], labels[start_row : start_row + batch]
            model.zero_grad()
            loss_of(model(x).view(-1), y).sum().backward()
            with torch.no_grad():
                for p in params:
                    assert p.grad is not None
                    p.grad /= len(x)
                if optimizer is None:
                    for p in params:
                        p -= learning_rate * p.grad
                else:
                    optimizer.param_groups[0]["lr"] = learning_rate
                    optimizer.step()
        with torch.no_grad():
            losses.append(loss_of(model(inputs[:40]).view(-1), labels[:40]).mean().item())
    trainer = Trainer(net, regularization, optimizer_name, loss_name)
    trainer.set_data(inputs[:40], labels[:40], inputs[40:], labels[40:], batch)
    mine = []
    for _ in range(epochs):
        trainer.train_epoch(learning_rate, reg_rate)
        mine.append(trainer.evaluate()[:2][0])
    return mine, losses


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("loss,output", [("squared", "tanh"), ("crossEntropy", "logistic")])
def test_optimizers_and_losses_match_plain_pytorch(optimizer, loss, output):
    mine, theirs = autograd_run([2, 5, 3, 1], "tanh", output, loss, optimizer, batch=8, epochs=8, learning_rate=0.01)
    assert mine == pytest.approx(theirs, abs=1e-9, rel=0)


def test_cross_entropy_needs_the_logistic_output():
    with pytest.raises(ValueError):
        Trainer(PlaygroundNet([2, 1], "tanh", "tanh"), loss="crossEntropy")


def test_accuracy_counts_points_on_the_right_side_of_zero():
    net = PlaygroundNet([1, 1], "tanh", "tanh")
    net.set_parameters([[[1.0]]], [[0.0]])  # output has the sign of x
    trainer = Trainer(net)
    x = torch.tensor([[1.0], [2.0], [-1.0], [-3.0]], dtype=torch.float64)
    trainer.set_data(
        x[:3], torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64), x[3:], torch.tensor([-1.0], dtype=torch.float64), 3
    )
    evaluation = trainer.evaluate()
    assert evaluation.train_accuracy == pytest.approx(2 / 3) and evaluation.test_accuracy == 1.0
    regression = Trainer(PlaygroundNet([1, 1], "tanh", "linear"))
    regression.set_data(x[:3], x[:3, 0], x[3:], x[3:, 0], 3)
    assert regression.evaluate().train_accuracy is None
