"""Time travel and saved experiments in the real page (Debian's Chromium, the real server): scrub the timeline and see
the map of then, fork and see two labelled curves, save and open the link in a new page, reload keeps own data."""

import os

from tests.browser.test_beyond_page import map_point, stats, wait_for_counts
from tests.live_server import ROOT

LINK = "#seed=0.42&dataset=spiral&networkShape=6,4&learningRate=0.01"


def train_to(playground, epochs: int) -> None:
    page = playground.page
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() >= epochs, message=f"{epochs} epochs")
    page.click("#play-pause-button")
    # The frame that answers the pause shows where training stopped (a turn may have trained on meanwhile).
    playground.wait_until(lambda: stats(playground, "drawnStatus") == "stopped", message="the paused frame")


def scrub_to(playground, epoch: int) -> None:
    drawn = stats(playground, "checkpointsDrawn")
    playground.page.locator("#timeline-range").fill(str(epoch))
    playground.wait_until(lambda: stats(playground, "checkpointsDrawn") > drawn, message="a checkpoint drawn")


def test_scrubbing_the_timeline_shows_the_map_of_then_and_back_to_now(playground):
    playground.open(LINK)
    train_to(playground, 60)
    page, live, epoch = playground.page, playground.map_pixels(), playground.epoch()
    scrub_to(playground, 0)
    assert "Showing epoch 0 (a checkpoint)" in playground.text("#timeline-status")
    then = playground.wait_for_new_map(live)
    assert playground.epoch() == epoch  # the run stays where it was
    scrub_to(playground, 31)
    assert "Showing epoch 30" in playground.text("#timeline-status")
    assert playground.map_pixels() not in (live, then)
    page.click("#live-button")
    playground.wait_until(lambda: playground.map_pixels() == live, message="the live map again")
    assert page.locator("#timeline-fork").is_hidden()


def test_continue_from_here_forks_and_the_chart_shows_both_labelled_branches(playground):
    playground.open(LINK)
    train_to(playground, 50)
    page = playground.page
    scrub_to(playground, 20)
    page.locator("#timeline-options [data-branch-option=learningRate] select").select_option("0.3")
    histories = stats(playground, "histories")
    page.click("#fork-button")
    playground.wait_until(lambda: stats(playground, "histories") > histories, message="the history after the fork")
    assert playground.epoch() == 20 and playground.hash()["learningRate"] == "0.3"
    labels = page.locator("#chart-branches .branch-label").all_text_contents()
    assert labels == ["the first run", "learning rate 0.3 at epoch 20"]
    assert "training" in playground.text("#chart-branches li.current")
    train_to(playground, 40)
    assert page.locator("#chart-branches li").count() == 2


def test_save_gives_a_link_that_opens_the_experiment_in_a_new_page(playground, new_playground):
    playground.open(LINK)
    page = playground.page
    page.click("#own-data summary")
    page.get_by_label("Add points").check()
    page.mouse.click(*map_point(playground, 5.5, -5.5))
    wait_for_counts(playground, 251, 250)
    train_to(playground, 30)
    epoch, pixels = playground.epoch(), playground.map_pixels()
    page.fill("#save-title", "spiral with a point")
    page.click("#save-button")
    link = page.locator("#save-link a")
    link.wait_for()
    url = link.get_attribute("href")
    assert url and "/e/" in url
    other = new_playground(viewport={"width": 1280, "height": 900})
    other.page.goto(url)
    other.ready()
    other.wait_until(lambda: other.epoch() == epoch, message="the saved epoch")
    assert other.page.locator("#save-title").input_value() == "spiral with a point"
    assert (stats(other, "trainCount"), stats(other, "testCount")) == (251, 250)
    other.wait_until(lambda: other.map_pixels() == pixels, message="the saved network's map")
    other.wait_until(lambda: stats(other, "histories") > 0, message="the saved history on the chart")
    # The opened experiment's picture (docs/screenshot-saved.png with SCREENSHOT_SAVED=1, for the README).
    shot = ROOT / ("docs/screenshot-saved.png" if os.environ.get("SCREENSHOT_SAVED") else "test-results/saved.png")
    shot.parent.mkdir(exist_ok=True)
    other.page.evaluate("document.querySelector('#save-title').scrollIntoView({block: 'end'})")
    other.page.screenshot(path=str(shot), full_page=False)


def test_a_bad_link_is_a_404_page(page, live_server):
    response = page.goto(live_server.url + "/e/notARealExperiment")
    assert response is not None and response.status == 404
    assert "No saved experiment has this link" in page.locator("h1").text_content()


def test_a_reload_brings_own_data_and_the_trained_run_back(playground):
    playground.open(LINK)
    page = playground.page
    page.click("#own-data summary")
    page.get_by_label("Add points").check()
    page.get_by_label("to the test set").check()
    page.mouse.click(*map_point(playground, -5.5, 5.5))
    wait_for_counts(playground, 250, 251)
    train_to(playground, 25)
    epoch = playground.epoch()
    playground.reload()
    playground.wait_until(lambda: playground.epoch() == epoch, message="the trained run back")
    assert (stats(playground, "trainCount"), stats(playground, "testCount")) == (250, 251)
    playground.wait_until(lambda: stats(playground, "histories") > 0, message="the loss history back")
