"""The page's controls beyond TensorFlow Playground, in a real browser against the real server: your own data on
the map and in CSV files, optimizers and loss, accuracy, the chart's readout and log scale, pace and stop rules,
the seed and the same-weights restart, and the exported PyTorch script rerun against the app's own losses."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

CIRCLE = "#dataset=circle&seed=0.31415&networkShape=4,2&x=true&y=true&learningRate=0.03&activation=tanh"
SPIRAL = "#dataset=spiral&seed=0.2718&networkShape=8,8&x=true&y=true&learningRate=0.03&activation=tanh"
OUR_OPTIONS = ("optimizer", "momentum", "loss", "epochsPerSecond", "stopAfterEpochs", "stopBelowTestLoss")


def stats(playground, name):
    return playground.evaluate(f"() => window.__playgroundStats.{name}")


def map_point(playground, x: float, y: float) -> tuple[float, float]:
    """The client position of plane point (x, y) over the output map ([-6, 6]², y up)."""
    box = playground.page.locator("#heatmap .plot").bounding_box()
    return box["x"] + (x + 6) / 12 * box["width"], box["y"] + (6 - y) / 12 * box["height"]


def point_pixel(playground, x: float, y: float) -> list[int]:
    """RGBA of the points canvas at plane point (x, y)."""
    return playground.evaluate(
        """([x, y]) => {
      const canvas = document.querySelector("#heatmap canvas.points");
      const scale = canvas.width / 12;
      return Array.from(canvas.getContext("2d").getImageData(Math.round((x + 6) * scale),
                                                              Math.round((6 - y) * scale), 1, 1).data);
    }""",
        [x, y],
    )


def wait_for_counts(playground, train: int, test: int):
    playground.wait_until(
        lambda: (stats(playground, "trainCount"), stats(playground, "testCount")) == (train, test),
        message=f"{train} training and {test} test points",
    )


def test_drawing_and_erasing_points_on_the_map(playground):
    playground.open(CIRCLE)
    page = playground.page
    train, test = stats(playground, "trainCount"), stats(playground, "testCount")
    assert "250 training and 250 test points" in playground.text("#data-counts")
    # Off (the default): a click on the map adds nothing. A step after it is answered after any point it had sent.
    page.mouse.click(*map_point(playground, 5.5, -5.5))
    page.click("#next-step-button")
    playground.wait_until(lambda: (stats(playground, "lastStep") or {}).get("epoch") == 1, message="a step")
    assert stats(playground, "trainCount") == train
    page.click("#own-data summary")
    page.get_by_label("Add points").check()
    assert page.locator("#heatmap.drawing-add").count() == 1
    # The circle's points all lie within radius 5: two empty corners, one blue (+1, the default), one orange.
    assert point_pixel(playground, 5.5, -5.5)[3] == 0 and point_pixel(playground, -5.5, 5.5)[3] == 0
    page.mouse.click(*map_point(playground, 5.5, -5.5))
    page.locator(".swatch-choice", has_text="−1").click()
    page.mouse.click(*map_point(playground, -5.5, 5.5))
    wait_for_counts(playground, train + 2, test)
    assert "252 training" in playground.text("#data-counts")
    blue, orange = point_pixel(playground, 5.5, -5.5), point_pixel(playground, -5.5, 5.5)
    assert blue[3] > 0 and blue[2] > blue[0], blue  # drawn, and blue
    assert orange[3] > 0 and orange[0] > orange[2], orange  # drawn, and orange
    # To the test set: the test count grows instead.
    page.get_by_label("to the test set").check()
    page.mouse.click(*map_point(playground, 5.5, 5.5))
    wait_for_counts(playground, train + 2, test + 1)
    # Erase removes the points within 0.5 of the click, from both sets.
    page.get_by_label("Erase").check()
    for corner in ((5.5, -5.5), (-5.4, 5.4), (5.5, 5.5)):
        page.mouse.click(*map_point(playground, *corner))
    wait_for_counts(playground, train, test)
    playground.wait_until(lambda: point_pixel(playground, 5.5, -5.5)[3] == 0, message="the points to disappear")
    assert point_pixel(playground, -5.5, 5.5)[3] == 0
    # Closing the group stops drawing.
    page.click("#own-data summary")
    playground.wait_until(lambda: playground.count("#heatmap.drawing-erase") == 0, message="drawing to stop")


def test_tapping_the_map_adds_a_point_on_a_phone(new_playground):
    playground = new_playground(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True).open(CIRCLE)
    page = playground.page
    page.locator("#own-data summary").tap()
    page.get_by_label("Add points").tap()
    assert playground.evaluate("() => document.scrollingElement.scrollWidth") <= 360
    page.locator("#heatmap .plot").scroll_into_view_if_needed()
    page.touchscreen.tap(*map_point(playground, 5.5, -5.5))
    wait_for_counts(playground, 251, 250)
    assert playground.evaluate("() => document.scrollingElement.scrollWidth") <= 360


def test_csv_upload_errors_name_the_line_and_good_files_load(playground):
    playground.open(CIRCLE)
    page = playground.page
    page.click("#own-data summary")
    assert "up to 5,000 points, 512 KB; x, y in −6…6; label −1 or 1" in playground.text("#own-data")
    page.set_input_files(
        "#upload-data-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x,y,label\n1,2,1\n3,4,7\n"}]
    )
    alert = page.locator(".error-message", has_text="line 3")
    alert.wait_for()
    assert "label must be -1 or 1" in alert.text_content()
    assert stats(playground, "trainCount") == 250  # the data stays as it was
    page.set_input_files(
        "#upload-data-file",
        files=[
            {
                "name": "mine.csv",
                "mimeType": "text/csv",
                "buffer": b"x,y,label,set\n1,2,1,train\n-3,4,-1,train\n0.5,-0.5,1,test\n",
            }
        ],
    )
    wait_for_counts(playground, 2, 1)
    with page.expect_download() as download:
        page.click("#download-data")
    lines = Path(download.value.path()).read_text().strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("x,y,label")
    assert [line.split(",")[-1] for line in lines[1:]] == ["train", "train", "test"]


def test_adam_on_the_spiral_lowers_the_loss(playground):
    playground.open(SPIRAL)
    page = playground.page
    assert playground.hash().keys().isdisjoint(OUR_OPTIONS)  # defaults stay out of the link
    assert not page.locator(".ui-momentum[data-option]").is_visible()
    page.locator("[data-option=optimizer] select").select_option("momentum")
    page.locator(".ui-momentum[data-option]").wait_for()  # shown for SGD with momentum only
    page.locator("[data-option=optimizer] select").select_option("adam")
    page.locator("[data-option=loss] select").select_option("crossEntropy")
    playground.wait_until(
        lambda: playground.hash().get("optimizer") == "adam" and playground.hash().get("loss") == "crossEntropy",
        message="Adam in the link",
    )
    assert not page.locator(".ui-momentum[data-option]").is_visible()
    assert "momentum" not in playground.hash()
    playground.wait_until(lambda: playground.text("#loss-kind") == "(cross-entropy)", message="the loss's name")
    first = playground.train_loss()
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 100, message="training")
    playground.wait_until(
        lambda: playground.train_loss() < 0.7 * first,
        timeout=40,
        message=f"the training loss to fall below 0.7 × {first}",
    )
    page.click("#play-pause-button")
    # Accuracy is shown for classification and hidden for regression, whose loss is always squared.
    assert page.locator("#accuracy-train").is_visible()
    assert re.fullmatch(r"\d+\.\d%", playground.text("#accuracy-train"))
    page.locator("[data-option=problem] select").select_option("regression")
    playground.wait_until(lambda: not page.locator("#accuracy-train").is_visible(), message="accuracy hidden")
    assert playground.text("#loss-kind") == "(squared)"
    assert not page.locator(".ui-loss[data-option]").is_visible()


def test_pace_and_stop_rules(playground):
    playground.open(CIRCLE)
    page = playground.page
    speed = page.locator("[data-option=epochsPerSecond] input[type=range]")
    assert playground.text("[data-option=epochsPerSecond] .value") == "max"
    speed.fill("0")  # the slowest stop: 1 epoch/s
    playground.wait_until(lambda: playground.hash().get("epochsPerSecond") == "1", message="1 epoch/s accepted")
    assert playground.text("[data-option=epochsPerSecond] .value") == "1 epoch/s"
    started = time.monotonic()
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() >= 2, message="slow motion to move on")
    shown, stepped = playground.epoch(), (stats(playground, "lastStep") or {}).get("epoch", 0)
    # One-sided, so a slow machine only makes it easier: the first epoch at once, then one a second (at full
    # speed it would be thousands by now).
    assert max(shown, stepped) <= 2 + (time.monotonic() - started) * 1
    speed.fill("6")  # "max"
    playground.wait_until(lambda: "epochsPerSecond" not in playground.hash(), message="max: back to the default")
    playground.wait_until(lambda: playground.epoch() > 50, message="full speed")
    page.click("#play-pause-button")
    page.click("#reset-button")
    playground.wait_until(lambda: playground.epoch() == 0, message="reset")
    stop_after = page.locator("[data-option=stopAfterEpochs] input")
    assert stop_after.input_value() == "" and stop_after.get_attribute("placeholder") == "never"
    stop_after.fill("30")
    stop_after.press("Enter")
    playground.wait_until(lambda: playground.hash().get("stopAfterEpochs") == "30", message="the stop rule")
    page.click("#play-pause-button")
    playground.wait_until(
        lambda: (
            page.locator("#play-pause-button").get_attribute("aria-pressed") == "false" and playground.epoch() == 30
        ),
        message="training to stop at epoch 30",
    )
    note = page.locator("#stop-reason")
    playground.wait_until(note.is_visible, message="the note that says why training stopped")
    assert "stopped after 30 epochs" in note.inner_text()
    page.click("#reset-button")  # a new run clears it
    playground.wait_until(lambda: not note.is_visible(), message="the note to go")


def test_seed_field_round_trips_through_the_link(playground):
    playground.open(CIRCLE)
    page = playground.page
    seed = page.locator("[data-option=seed] input")
    assert seed.input_value() == "0.31415"

    def points():
        return playground.evaluate("() => document.querySelector('#heatmap canvas.points').toDataURL()")

    before = points()
    seed.fill("my-seed_1")
    seed.press("Enter")
    playground.wait_until(lambda: playground.hash().get("seed") == "my-seed_1", message="the new seed")
    playground.wait_until(lambda: points() != before, message="new data from the new seed")
    data, weights = points(), playground.map_pixels()
    playground.reload()
    assert page.locator("[data-option=seed] input").input_value() == "my-seed_1"
    assert points() == data and playground.map_pixels() == weights
    # A bad seed: the server's error, and the field shows the session's seed again once left.
    seed.fill("not a seed!")
    seed.press("Enter")
    page.locator(".error-message", has_text="seed").wait_for()
    page.locator("body").click(position={"x": 5, "y": 5})
    assert seed.input_value() == "my-seed_1" and playground.hash()["seed"] == "my-seed_1"


def test_chart_readout_and_log_scale(new_playground):
    playground = new_playground(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True).open(CIRCLE)
    page = playground.page
    readout = page.locator("#chart-readout")
    idle = readout.text_content()
    for epoch in range(1, 7):
        page.locator("#next-step-button").tap()
        playground.wait_until(
            lambda epoch=epoch: (stats(playground, "lastStep") or {}).get("epoch") == epoch, message=f"epoch {epoch}"
        )
    chart = page.locator("#linechart")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    chart.tap(position={"x": box["width"] - 1, "y": box["height"] / 2})
    playground.wait_until(lambda: readout.text_content().startswith("Epoch 6: training "), message="the readout")
    chart.tap(position={"x": 1, "y": box["height"] / 2})
    playground.wait_until(lambda: readout.text_content().startswith("Epoch 0: training "), message="epoch 0")
    pixels = chart.evaluate("canvas => canvas.toDataURL()")
    page.get_by_label("log scale").tap()
    playground.wait_until(lambda: chart.evaluate("canvas => canvas.toDataURL()") != pixels, message="a log scale")
    # A tap elsewhere puts the readout away.
    page.locator("#output-heading").tap()
    playground.wait_until(lambda: readout.text_content() == idle, message="the readout to go away")


def test_chart_readout_follows_the_mouse(playground):
    playground.open(CIRCLE)
    page = playground.page
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 100, message="training")
    page.click("#play-pause-button")
    box = page.locator("#linechart").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 10)
    playground.wait_until(
        lambda: re.match(r"Epoch [\d,]+: training \d", playground.text("#chart-readout")),
        message="the readout under the mouse",
    )
    page.mouse.move(5, 5)
    playground.wait_until(lambda: not playground.text("#chart-readout").startswith("Epoch"), message="leave")


EPOCH_LINE = re.compile(r"epoch (\d+): train loss (\S+), test loss ([^,\s]+)")


def test_exported_script_reproduces_the_apps_losses(playground, tmp_path):
    playground.open(
        SPIRAL + "&optimizer=adam&loss=crossEntropy&batchSize=7&regularization=L2"
        "&regularizationRate=0.001&networkShape=6,4"
    )
    page = playground.page
    # Train a while, so that the rerun has to start again from the first weights.
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 20, message="training")
    page.click("#play-pause-button")
    with page.expect_download() as download:
        page.get_by_role("button", name="PyTorch script").click()
    script = tmp_path / download.value.suggested_filename
    download.value.save_as(script)
    page.click("#restart-same-button")
    playground.wait_until(
        lambda: (stats(playground, "lastStep") or {}).get("epoch") == 0 and playground.epoch() == 0,
        message="a restart at epoch 0",
    )
    epochs = 10
    app = []
    for epoch in range(1, epochs + 1):
        page.click("#next-step-button")
        playground.wait_until(
            lambda epoch=epoch: (stats(playground, "lastStep") or {}).get("epoch") == epoch, message=f"step {epoch}"
        )
        step = stats(playground, "lastStep")
        app.append((step["trainLoss"], step["testLoss"]))
    run = subprocess.run([sys.executable, str(script), str(epochs)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    printed = [(float(train), float(test)) for _, train, test in EPOCH_LINE.findall(run.stdout)]
    assert len(printed) == epochs
    for (app_train, app_test), (train, test) in zip(app, printed, strict=True):
        assert abs(app_train - train) <= 1e-9 and abs(app_test - test) <= 1e-9, (app, printed)
    # The network JSON exports and imports back, labelled as such.
    with page.expect_download() as download:
        page.get_by_role("button", name="Network JSON").click()
    network = tmp_path / download.value.suggested_filename
    download.value.save_as(network)
    configs = stats(playground, "configs")
    page.set_input_files("#import-network-file", str(network))
    playground.wait_until(lambda: stats(playground, "configs") > configs, message="the imported network's config")
    assert playground.count(".error-message") == 0
    assert playground.hash()["optimizer"] == "adam" and playground.epoch() == epochs


def test_restart_with_the_same_weights_and_the_keyboard(playground):
    playground.open(CIRCLE)
    page = playground.page
    first_map = playground.map_pixels()
    page.locator("body").focus()
    for epoch in (1, 2, 3):
        page.keyboard.press(".")
        playground.wait_until(lambda epoch=epoch: playground.epoch() == epoch, message=f"epoch {epoch}")
    playground.wait_for_new_map(first_map)
    page.keyboard.press("Shift+R")  # the same first weights: the same picture as at the start
    playground.wait_until(
        lambda: playground.epoch() == 0 and playground.map_pixels() == first_map, message="the first weights again"
    )
    page.keyboard.press("r")  # a plain reset draws new weights
    playground.wait_for_new_map(first_map)
    assert playground.epoch() == 0
    # The chart reads out with the arrow keys too, without stepping the network.
    for epoch in (1, 2):
        page.click("#next-step-button")
        playground.wait_until(
            lambda epoch=epoch: (stats(playground, "lastStep") or {}).get("epoch") == epoch, message=f"epoch {epoch}"
        )
    page.locator("#linechart").focus()
    page.keyboard.press("ArrowLeft")
    playground.wait_until(lambda: playground.text("#chart-readout").startswith("Epoch 1: "), message="key readout")
    page.keyboard.press("ArrowRight")
    playground.wait_until(lambda: playground.text("#chart-readout").startswith("Epoch 2: "), message="key readout")
    assert playground.epoch() == 2
