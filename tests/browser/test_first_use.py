"""What a new user meets first (issue 9): test points over training points, the stop rules in words, a full server,
the weight editor's refusals, the neurons' look, a true headline, and one source for labels and links."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.timeout(120)

CIRCLE = "#dataset=circle&seed=0.31415&networkShape=4,2&x=true&y=true&learningRate=0.03&activation=tanh"


def page_data(playground) -> dict:
    return json.loads(playground.evaluate("() => document.getElementById('page-data').textContent"))


def test_test_points_are_drawn_over_the_training_points(playground):
    playground.open(CIRCLE)
    page = playground.page
    # An orange training point and a blue test point at the same place, the centre of the map.
    page.set_input_files(
        "#upload-data-file",
        files=[{"name": "overlap.csv", "mimeType": "text/csv", "buffer": b"x,y,label,set\n0,0,-1,train\n0,0,1,test\n"}],
    )
    playground.wait_until(
        lambda: (
            playground.evaluate("() => [window.__playgroundStats.trainCount, window.__playgroundStats.testCount]")
            == [1, 1]
        ),
        message="the uploaded points",
    )
    page.locator("[data-option=showTestData] input").check()
    centre = """() => { const canvas = document.querySelector('#heatmap canvas.points');
      const middle = Math.floor(canvas.width / 2);
      return Array.from(canvas.getContext('2d').getImageData(middle, middle, 1, 1).data); }"""
    red, green, blue, _ = playground.wait_until(
        lambda: (pixel := playground.evaluate(centre))[3] > 0 and pixel, message="a point at the centre"
    )
    assert blue > red, f"the centre shows the training point's orange, not the test point's blue: {red, green, blue}"


def test_the_stop_rules_say_when_they_fire_again(playground):
    playground.open()
    hint = playground.page.locator(".ui-pace #stop-rules-hint")
    assert hint.is_visible()
    text = hint.text_content()
    assert "100, 150" in text and "change its value or reset" in " ".join(text.split())


def test_a_full_server_says_so_shows_no_wrong_values_and_lets_the_page_in_later(new_playground, start_server):
    server = start_server(max_connections=1)
    first = new_playground(viewport={"width": 1280, "height": 900})
    first.base_url = server.url
    first.open(CIRCLE)
    second = new_playground(viewport={"width": 1280, "height": 900})
    second.base_url = server.url
    page = second.page
    page.goto(server.url + "/" + CIRCLE)
    banner = page.locator("#connection-status")
    second.wait_until(lambda: "server is full" in (banner.text_content() or ""), message="the server-full notice")
    assert "lost" not in banner.text_content() and banner.is_visible()
    # No placeholder values: no learning rate, no activation, no datasets, no network until a config comes.
    for selector in (
        "[data-option=learningRate] select",
        "[data-option=activation] select",
        ".dataset",
        "#iter-number",
    ):
        assert not page.locator(selector).first.is_visible(), selector
    assert page.evaluate("() => window.__playgroundStats.configs") == 0
    first.page.close()
    second.ready()  # it got in by itself, without a reload
    banner.wait_for(state="hidden")
    assert page.locator("[data-option=activation] select").input_value() == "tanh"
    assert page.locator("[data-option=activation] select").is_visible()
    assert second.hash()["seed"] == "0.31415"
    assert page.locator(".error-message").count() == 0


def test_the_weight_editor_says_what_it_cannot_use(playground):
    playground.open(CIRCLE)
    page = playground.page
    link = page.locator(".link-hit").first
    link.click(force=True)
    editor, hint = page.locator(".hovercard input"), page.locator(".hovercard .card-hint")
    for typed, problem in (("1e400", "too large"), ("abc", "not a number")):
        editor.fill(typed)
        page.keyboard.press("Enter")
        assert editor.is_visible(), f"the editor closed on {typed}"
        assert problem in hint.text_content() and "finite number" in hint.text_content()
        assert hint.get_attribute("role") == "alert" and editor.get_attribute("aria-invalid") == "true"
    editor.fill("0.75")
    page.keyboard.press("Enter")
    assert not editor.is_visible()
    page.mouse.move(5, 5)
    link.hover(force=True)
    playground.wait_until(
        lambda: "Weight is 0.75" in page.locator(".hovercard").text_content(),
        message="the weight set after the refusals",
    )


def test_neurons_are_framed_and_inactive_features_greyed_and_shown_when_hovered(playground):
    playground.open(CIRCLE)
    page = playground.page
    frame = page.locator(".node.hidden-node canvas").first.evaluate("canvas => getComputedStyle(canvas).boxShadow")
    assert "1px" in frame and "rgb(51, 51, 51)" in frame
    colour = "label => getComputedStyle(label).color"
    labels = page.locator(".feature-label")
    active, inactive = labels.filter(has_text="X₁").first, labels.filter(has_text="X₁²")
    assert "inactive" in inactive.get_attribute("class")
    assert inactive.evaluate(colour) != active.evaluate(colour)
    # Hovering X1² (not in the network) shows its map in the big map; leaving it shows the output again.
    output_map = playground.map_pixels()
    page.locator(".node.input.ui-xSquared").hover()
    feature_map = playground.wait_for_new_map(output_map)
    assert "X₁²" in playground.text("#focus-label")
    page.mouse.move(5, 5)
    playground.wait_until(lambda: playground.map_pixels() == output_map, message="the output's map to come back")
    assert playground.text("#focus-label") == ""
    # X1 is in the network: the server renders its map; it is a different map from X1²'s.
    page.locator(".node.input.ui-x").hover()
    assert playground.wait_for_new_map(output_map) != feature_map
    # Clicking a hovered inactive feature adds it: the network is rebuilt and the big map shows the new output, not
    # the feature's map any more.
    page.mouse.move(5, 5)
    playground.wait_until(lambda: playground.map_pixels() == output_map, message="the output's map again")
    page.locator(".node.input.ui-xSquared").hover()
    playground.wait_until(lambda: playground.map_pixels() == feature_map, message="X1²'s map")
    page.locator(".node.input.ui-xSquared").click()
    playground.wait_until(lambda: playground.count(".node.input.ui-xSquared.inactive") == 0, message="X1² added")
    page.mouse.move(5, 5)
    playground.wait_until(
        lambda: playground.map_pixels() not in (output_map, feature_map), message="the new network's output map"
    )
    assert playground.text("#focus-label") == ""


def test_the_headline_is_the_projects_own_and_true(playground):
    playground.open()
    headline = " ".join(playground.text("header h1").split())
    assert "server" in headline and "PyTorch" in headline
    assert "in your browser" not in headline.lower() or "only draws" in headline


def test_choice_labels_come_from_the_options_table(playground):
    playground.open()
    page = playground.page
    options = {option["name"]: option for option in page_data(playground)["options"]}
    for name in ("activation", "regularization", "problem", "optimizer", "loss"):
        shown = page.locator(f"[data-option={name}] select option").all_text_contents()
        assert shown == [options[name]["choiceLabels"][value] for value in options[name]["choices"]], name
    titles = page.locator(".dataset").evaluate_all("buttons => buttons.map((button) => button.title)")
    assert titles == [
        options[group]["choiceLabels"][value]
        for group in ("dataset", "regDataset")
        for value in options[group]["choices"]
    ]
    source = playground.evaluate("() => fetch('/static/js/controls.js').then((response) => response.text())")
    assert "Exclusive or" not in source  # no second copy of the labels


def test_the_server_reads_and_writes_every_link(playground):
    playground.open(CIRCLE)
    page = playground.page
    with pytest.raises(urllib.error.HTTPError, match="404"):  # the page's own codec is gone
        urllib.request.urlopen(playground.base_url + "/static/js/state.js", timeout=5)
    # A hash edited by hand goes to the server, which applies it leniently and writes the canonical link back.
    page.evaluate("() => { location.hash = '#activation=sigmoid&noise=95&seed=0.4&learningRate_hide=true'; }")
    playground.wait_until(
        lambda: page.locator("[data-option=activation] select").input_value() == "sigmoid",
        message="the edited hash to apply",
    )
    notice = page.locator(".error-message", has_text="noise")
    notice.wait_for()
    assert "95" in notice.text_content() and "50" in notice.text_content()  # TF Playground: above 80 reads as 50
    playground.wait_until(lambda: playground.hash().get("noise") == "50", message="the server's link")
    assert playground.hash()["activation"] == "sigmoid" and playground.hash()["learningRate_hide"] == "true"
    assert not page.locator(".ui-learningRate").first.is_visible()
    # Our own changes come back as the server's link too.
    page.locator("[data-option=activation] select").select_option("relu")
    playground.wait_until(lambda: playground.hash()["activation"] == "relu", message="the new activation's link")
    assert playground.hash()["seed"] == "0.4" and playground.hash()["learningRate_hide"] == "true"
