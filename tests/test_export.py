"""The exported script reruns the app's experiment in plain PyTorch: the same losses, epoch by epoch, to 1e-9."""

import re
import subprocess
import sys

import pytest

from playground.export import python_script
from playground.session import TrainingSession

EPOCHS = 12
LINE = re.compile(r"epoch (\d+): train loss (\S+), test loss ([^,\s]+)")


def run_script(tmp_path, session):
    path = tmp_path / "playground_run.py"
    path.write_text(python_script(session))
    output = subprocess.run(
        [sys.executable, str(path), str(EPOCHS)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return [(float(train), float(test)) for _, train, test in LINE.findall(output)]


@pytest.mark.parametrize(
    "config",
    [
        {"seed": "0.59704"},
        {
            "seed": "s2",
            "dataset": "spiral",
            "optimizer": "adam",
            "loss": "crossEntropy",
            "regularization": "L1",
            "regularizationRate": 0.003,
            "learningRate": 0.01,
            "networkShape": [6, 4],
            "sinX": True,
            "sinY": True,
        },
        {
            "seed": "s3",
            "problem": "regression",
            "regDataset": "reg-gauss",
            "optimizer": "momentum",
            "momentum": 0.5,
            "regularization": "L2",
            "regularizationRate": 0.01,
            "batchSize": 7,
            "percTrainData": 30,
            "activation": "relu",
        },
        {
            "seed": "s4",
            "dataset": "xor",
            "optimizer": "rmsprop",
            "learningRate": 0.001,
            "xTimesY": True,
            "networkShape": [],
            "activation": "sigmoid",
            "batchSize": 30,
        },
    ],
)
def test_exported_script_prints_the_apps_losses(tmp_path, config):
    session = TrainingSession(config)
    session.step()  # the export starts from the initial weights whatever the epoch
    expected = []
    session.reset(same_weights=True)
    for _ in range(EPOCHS):
        session.step()
        expected.append((session.train_loss, session.test_loss))
    printed = run_script(tmp_path, session)
    assert len(printed) == EPOCHS
    for (train, test), (app_train, app_test) in zip(printed, expected, strict=True):
        assert train == pytest.approx(app_train, abs=1e-9, rel=0)
        assert test == pytest.approx(app_test, abs=1e-9, rel=0)


def test_exported_script_carries_own_data(tmp_path):
    session = TrainingSession({"seed": "own", "batchSize": 30})
    session.load_csv("x,y,label\n1,1,1\n-1,-1,0\n2,2,1\n-2,-2,0\n0.5,0.5,1\n-0.5,-0.5,0\n")
    session.reset(same_weights=True)
    expected = []
    for _ in range(EPOCHS):
        session.step()
        expected.append(session.train_loss)
    printed = run_script(tmp_path, session)
    assert [train for train, _ in printed] == pytest.approx(expected, abs=1e-9, rel=0)


def test_the_plain_pytorch_rule_runs_as_code_and_agrees_with_the_app():
    from playground import plain_torch
    from playground.export import run_data

    session = TrainingSession(
        {"seed": "plain", "regularization": "L1", "regularizationRate": 0.01, "loss": "crossEntropy", "sinY": True}
    )
    expected = []
    for _ in range(EPOCHS):
        session.step()
        expected.append((session.train_loss, session.test_loss))
    losses = [loss for train, test, _, _ in plain_torch.train(run_data(session), EPOCHS) for loss in (train, test)]
    assert losses == pytest.approx([loss for pair in expected for loss in pair], abs=1e-9, rel=0)


def test_the_script_is_the_plain_pytorch_module_and_the_runs_data():
    from playground import plain_torch

    script = python_script(TrainingSession({"seed": "text"}))
    assert "def train(run, epochs):" in script and "\nRUN = {" in script
    assert "from playground" not in script and "import playground" not in script
    assert plain_torch.__doc__ and plain_torch.__doc__.splitlines()[0] not in script  # the script has its own header
