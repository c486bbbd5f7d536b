"""The playground page in a real browser, against the real server: training, the map, the network diagram, links,
errors, keyboard and the phone layout. One server for the module; a fresh browser context (session) per test."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)

CIRCLE = "#dataset=circle&seed=0.31415&networkShape=4,2&x=true&y=true&learningRate=0.03&activation=tanh"


def test_page_is_built_from_the_options_table(playground):
    playground.open()
    page = playground.page
    # Top bar selects carry the table's choices and defaults.
    assert page.locator("[data-option=learningRate] select").input_value() == "0.03"
    assert page.locator("[data-option=activation] select").input_value() == "tanh"
    assert page.locator("[data-option=regularization] select").input_value() == "none"
    assert page.locator("[data-option=regularizationRate] select").input_value() == "0"
    assert page.locator("[data-option=problem] select").input_value() == "classification"
    # Sliders with TF's limits; noise stops at 50 as TF's does.
    batch = page.locator("[data-option=batchSize] input[type=range]")
    assert (batch.get_attribute("min"), batch.get_attribute("max"), batch.input_value()) == ("1", "30", "10")
    assert page.locator("[data-option=noise] input").get_attribute("max") == "50"
    assert page.locator("[data-option=percTrainData] .value").text_content() == "50%"
    # Only the classification datasets are shown, the selected one marked.
    assert playground.count(".dataset:not([hidden])") >= 4
    assert page.locator(".dataset.selected:not([hidden])").get_attribute("data-choice") == "circle"
    assert playground.count(".dataset[data-choice=reg-plane]:not([hidden])") == 0
    assert playground.text("#iter-number") == "000,000"
    assert page.locator("#play-pause-button").get_attribute("aria-label")
    assert page.locator("meta[name=viewport]").get_attribute("content") == "width=device-width, initial-scale=1"


def test_play_advances_the_epoch_and_repaints_the_map(playground):
    playground.open(CIRCLE)
    before = playground.map_pixels()
    playground.page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 50, message="the epoch counter to advance")
    playground.wait_for_new_map(before)
    assert playground.page.locator("#play-pause-button").get_attribute("aria-pressed") == "true"
    playground.page.click("#play-pause-button")
    playground.wait_until(
        lambda: playground.page.locator("#play-pause-button.playing").count() == 0, message="training to stop"
    )


def test_training_loss_falls_on_the_circle(playground):
    playground.open(CIRCLE)
    first = playground.train_loss()
    assert first > 0.1
    playground.page.click("#play-pause-button")
    playground.wait_until(
        lambda: playground.train_loss() < first / 2,
        timeout=40,
        message=f"the training loss to fall below half of {first}",
    )
    chart_points = playground.evaluate("() => document.querySelector('#linechart').width")
    assert chart_points > 0


def test_hovering_or_tapping_a_neuron_shows_it_in_the_map(playground):
    playground.open(CIRCLE)
    output_map = playground.map_pixels()
    neuron = playground.page.locator(".node.hidden-node").first
    neuron.hover()
    neuron_map = playground.wait_for_new_map(output_map)
    assert neuron_map != output_map
    playground.page.mouse.move(5, 5)
    playground.wait_until(lambda: playground.map_pixels() == output_map, message="the output's map to come back")
    # Click (a tap on a touch screen) pins the neuron until it is clicked again.
    neuron.click()
    playground.wait_until(lambda: playground.map_pixels() == neuron_map, message="the pinned neuron's map")
    # The page decides what to show in its mouse handlers, so the label would already say if the move unpinned it.
    playground.page.mouse.move(5, 5)
    assert "neuron 1 of hidden layer 1" in playground.text("#focus-label")
    assert playground.map_pixels() == neuron_map
    neuron.click()
    playground.page.mouse.move(5, 5)
    playground.wait_until(lambda: playground.map_pixels() == output_map, message="unpinning")


def test_tap_focuses_a_neuron_on_a_touch_screen(new_playground):
    playground = new_playground(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True).open(CIRCLE)
    output_map = playground.map_pixels()
    playground.page.locator(".node.hidden-node").nth(1).tap()
    playground.wait_for_new_map(output_map)
    assert playground.count(".node.hidden-node.focused") == 1
    # Tapping a link opens its editor (there is no hover on a touch screen).
    playground.page.locator(".link-hit").first.tap(force=True)
    assert playground.page.locator(".hovercard input").is_visible()


def test_feature_toggles_and_layer_buttons_change_the_network(playground):
    playground.open(CIRCLE)
    page = playground.page
    active_inputs = ".node.input:not(.inactive)"
    assert (
        playground.count(active_inputs),
        playground.count(".node.input"),
        playground.count(".node.hidden-node"),
        playground.count(".link"),
    ) == (2, 7, 6, 2 * 4 + 4 * 2 + 2)
    page.click(".node.input.ui-xSquared")
    playground.wait_until(lambda: playground.count(active_inputs) == 3, message="X1² to turn on")
    playground.wait_until(lambda: playground.count(".link") == 3 * 4 + 4 * 2 + 2, message="links from X1²")
    assert playground.hash()["xSquared"] == "true"
    page.click("#add-layers")
    playground.wait_until(lambda: playground.count(".node.hidden-node") == 8, message="a new layer of 2")
    assert playground.hash()["networkShape"] == "4,2,2"
    assert playground.text("#num-layers") == "3"
    page.locator(".layer-control").nth(0).get_by_role("button", name="Add a neuron").click()
    playground.wait_until(lambda: playground.count(".node.hidden-node") == 9, message="a fifth neuron")
    page.locator(".layer-control").nth(2).get_by_role("button", name="Remove a neuron").click()
    playground.wait_until(lambda: playground.hash()["networkShape"] == "5,2,1", message="networkShape=5,2,1")
    playground.wait_until(lambda: playground.count(".layer-control") == 3, message="three layer controls")
    page.click("#remove-layers")
    page.click("#remove-layers")
    page.click("#remove-layers")
    playground.wait_until(lambda: playground.hash()["networkShape"] == "", message="zero hidden layers")
    # The hash follows the server's reply; the diagram follows the frame that comes after it.
    playground.wait_until(
        lambda: playground.count(".node.hidden-node") == 0 and playground.count(".link") == 3,
        message="inputs wired straight to the output",
    )


def test_a_url_hash_restores_a_config(playground):
    playground.open("#activation=relu&batchSize=3&networkShape=3&seed=0.12345&x=true&y=false&xSquared=true")
    page = playground.page
    accepted = playground.hash()  # written from the server's accepted config
    assert (
        accepted["activation"],
        accepted["batchSize"],
        accepted["networkShape"],
        accepted["seed"],
        accepted["x"],
        accepted["y"],
        accepted["xSquared"],
    ) == ("relu", "3", "3", "0.12345", "true", "false", "true")
    assert page.locator("[data-option=activation] select").input_value() == "relu"
    assert page.locator("[data-option=batchSize] input").input_value() == "3"
    assert page.locator("[data-option=batchSize] .value").text_content() == "3"
    assert playground.count(".node.hidden-node") == 3
    active = page.locator(".node.input:not(.inactive)")
    assert [active.nth(i).get_attribute("class") for i in range(active.count())] == [
        "node input ui-x",
        "node input ui-xSquared",
    ]
    # The same link gives the same data and initial weights: the same picture.
    first = playground.map_pixels()
    assert playground.reload().map_pixels() == first


def test_tf_hash_details(playground):
    """Booleans (anything but "false"), `networkShape=` (zero layers), unknown keys, `_hide`, noise above 50."""
    playground.open("#networkShape=&x=yes&y=false&noise=65&unknownKey=1&batchSize_hide=true&seed=0.5")
    page = playground.page
    assert playground.count(".node.hidden-node") == 0
    assert playground.hash()["x"] == "true" and playground.hash()["y"] == "false"
    assert page.locator("[data-option=noise] input").get_attribute("max") == "65"
    assert page.locator("[data-option=noise] .value").text_content() == "65"
    assert not page.locator(".ui-batchSize").is_visible()
    assert "batchSize_hide=true" in page.evaluate("() => location.hash")
    assert "unknownKey" not in page.evaluate("() => location.hash")


def test_a_links_value_out_of_range_is_clamped_with_a_notice_and_the_page_keeps_working(playground):
    playground.open("#batchSize=99&activation=relu&seed=0.2")
    alert = playground.page.locator(".error-message[role=alert]")
    alert.wait_for()
    message = alert.text_content()
    assert "batchSize" in message and "1 to 30" in message and "99" in message
    # The rest of the link was applied, and the batch size clamped to the nearest allowed value.
    assert playground.hash()["activation"] == "relu" and playground.hash()["batchSize"] == "30"
    assert playground.page.locator("[data-option=batchSize] .value").text_content() == "30"
    playground.page.get_by_role("button", name="Dismiss this message").click()
    assert alert.count() == 0
    playground.page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 5, message="training after an error")


def test_keyboard_shortcuts(playground):
    playground.open(CIRCLE)
    page = playground.page
    page.locator("body").focus()
    page.keyboard.press(".")
    playground.wait_until(lambda: playground.epoch() == 1, message="one step")
    page.keyboard.press("ArrowRight")
    playground.wait_until(lambda: playground.epoch() == 2, message="another step")
    page.keyboard.press("Space")
    playground.wait_until(lambda: playground.epoch() > 20, message="Space to start training")
    page.keyboard.press("Space")
    playground.wait_until(
        lambda: page.locator("#play-pause-button").get_attribute("aria-pressed") == "false",
        message="Space to stop training",
    )
    stopped_at = playground.epoch()
    # Stopped means stopped: the next step's frame is exactly one epoch further.
    page.keyboard.press(".")
    last_step = "() => window.__playgroundStats.lastStep.epoch"
    playground.wait_until(lambda: playground.evaluate(last_step) != stopped_at, message="the step's frame")
    assert playground.evaluate(last_step) == stopped_at + 1
    page.keyboard.press("r")
    playground.wait_until(lambda: playground.epoch() == 0, message="r to reset")
    # Space on a focused button (here "add a layer", just clicked) still means play/pause, not "click it again".
    page.click("#add-layers")
    playground.wait_until(lambda: playground.count(".node.hidden-node") == 8, message="a third layer")
    page.keyboard.press("Space")
    playground.wait_until(
        lambda: page.locator("#play-pause-button").get_attribute("aria-pressed") == "true",
        message="Space on a focused button to start training",
    )
    page.keyboard.press("Space")
    playground.wait_until(
        lambda: page.locator("#play-pause-button").get_attribute("aria-pressed") == "false",
        message="Space to stop training again",
    )
    assert playground.hash()["networkShape"] == "4,2,2"
    # Keys typed into a form control stay there: the shortcut handler (which prevents the default of every key it
    # acts on) leaves this one alone. A listener added after it sees what it did.
    page.evaluate("""() => document.addEventListener("keydown", (event) => {
      window.__shortcutTookKey = event.defaultPrevented; })""")
    page.locator("[data-option=batchSize] input").focus()
    page.keyboard.press("Space")
    assert page.evaluate("() => window.__shortcutTookKey") is False
    assert page.locator("#play-pause-button").get_attribute("aria-pressed") == "false"


def test_weights_and_biases_can_be_read_and_edited(playground):
    playground.open(CIRCLE)
    page = playground.page
    link = page.locator(".link-hit").first
    link.hover(force=True)
    card = page.locator(".hovercard")
    card.wait_for()
    assert card.text_content().startswith("Weight is ")
    link.click(force=True)
    page.locator(".hovercard input").fill("2.5")
    page.keyboard.press("Enter")
    page.mouse.move(5, 5)
    link.hover(force=True)
    playground.wait_until(lambda: "Weight is 2.5" in card.text_content(), message="the edited weight")
    page.mouse.move(5, 5)
    page.locator(".bias-hit").first.hover(force=True)
    playground.wait_until(lambda: "Bias is " in card.text_content(), message="the bias card")


def test_weights_and_biases_can_be_edited_from_the_keyboard(playground):
    playground.open(CIRCLE)
    page = playground.page
    link = page.locator(".link-hit").first
    assert link.get_attribute("tabindex") == "0" and link.get_attribute("aria-label").startswith("Weight from ")
    link.focus()
    page.keyboard.press("Enter")
    editor = page.locator(".hovercard input")
    editor.wait_for()
    assert editor.evaluate("input => input === document.activeElement")
    editor.fill("-1.25")
    page.keyboard.press("Enter")

    def reopened_value() -> str:  # the editor opens with the newest frame's value
        link.focus()
        page.keyboard.press(" ")  # Space opens the editor too, and does not start training
        editor.wait_for()
        value = editor.input_value()
        page.keyboard.press("Escape")
        return value

    playground.wait_until(lambda: reopened_value() == "-1.25", message="the weight set from the keyboard")
    assert page.locator("#play-pause-button").get_attribute("aria-pressed") == "false"
    bias = page.locator(".bias-hit").first
    bias.focus()
    page.keyboard.press("Enter")
    playground.wait_until(
        lambda: page.locator(".hovercard").text_content().startswith("Bias"), message="the bias editor"
    )


def test_view_options_repaint_without_a_reset(playground):
    playground.open(CIRCLE)
    page = playground.page
    before = playground.map_pixels()
    page.locator("[data-option=discretize] input").check()
    playground.wait_for_new_map(before)
    playground.wait_until(lambda: playground.hash()["discretize"] == "true", message="discretize in the hash")
    page.locator("[data-option=showTestData] input").check()
    playground.wait_until(lambda: playground.hash()["showTestData"] == "true", message="showTestData in the hash")
    assert playground.epoch() == 0


def test_phone_layout_has_no_horizontal_scroll(new_playground):
    playground = new_playground(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    playground.open("#networkShape=8,8,8,8,8,8&seed=0.3")
    assert playground.count(".node.hidden-node") == 48
    assert playground.evaluate("() => document.scrollingElement.scrollWidth") <= 360
    assert playground.evaluate("() => document.querySelector('#heatmap').getBoundingClientRect().right") <= 360


def test_a_lost_connection_reconnects_and_restores_the_session(new_playground, restartable_server):
    playground = new_playground(viewport={"width": 1280, "height": 900})
    playground.base_url = restartable_server.url
    playground.open("#activation=relu&networkShape=3,3&seed=0.777&noise=10")
    playground.page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 10, message="training")
    before = playground.hash()
    banner = playground.page.locator("#connection-status")
    restartable_server.stop()
    banner.wait_for(state="visible")
    assert "Reconnecting" in banner.text_content()
    restartable_server.start()
    banner.wait_for(state="hidden", timeout=30000)
    # The new session got the whole config back (same seed: same data and weights), and training resumed.
    playground.wait_until(lambda: playground.epoch() > 10, message="training to resume")
    assert playground.hash() == before
    assert playground.count(".node.hidden-node") == 6
    assert playground.count(".error-message") == 0


def test_page_modules_format_numbers_and_decode_bytes(playground):
    """The pure modules, run in the page: the epoch and loss formats, and the byte -> colour tables."""
    playground.open()
    result = playground.evaluate("""async () => {
      const format = await import("/static/js/format.js");
      const colors = await import("/static/js/colors.js");
      const plain = colors.byteLookup(), discrete = colors.byteLookup({ discretize: true });
      const rgba = (table, q) => Array.from(new Uint8Array(Uint32Array.of(table[q]).buffer));
      return {
        epochs: [0, 7, 1234, 999999, 1234567].map(format.formatEpoch),
        losses: [0.12345, null].map(format.formatLoss),
        shades: [0, 7, 8, 123, 124, 247].map((q) => rgba(plain, q)),
        discrete: [0, 123, 124, 247].map((q) => rgba(discrete, q)),
        nan: rgba(plain, 255),
      };
    }""")
    assert result["epochs"] == ["000,000", "000,007", "001,234", "999,999", "1,234,567"]
    assert result["losses"] == ["0.123", "NaN"]
    orange, grey, blue = [245, 147, 34, 160], [232, 234, 235, 160], [8, 119, 189, 160]
    shades = result["shades"]
    assert shades[0] == shades[1] == orange and shades[2] != orange  # q >> 3 is the shade
    assert shades[3] == shades[4] == grey and shades[5] == blue  # 123 and 124 both in shade 15
    assert result["discrete"] == [orange, orange, blue, blue]  # q >= 124 means v >= 0
    assert result["nan"][3] == 255 and result["nan"][:3] not in (orange[:3], grey[:3], blue[:3])
