"""Many-seed runs in a real browser against the real server: press "Run with K seeds", see the band on the chart,
the line and the small multiples, click one and go on training from it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)

# The speed control on (30 epochs a second), so that the runs reach the stop rule over several updates on any machine.
LINK = "#dataset=circle&seed=0.31415&networkShape=4,2&epochsPerSecond=30&stopBelowTestLoss=0.1"


def stats(playground, name):
    return playground.evaluate(f"() => window.__playgroundStats.{name}")


def chart_pixels(playground) -> int:
    """How many of the chart's pixels are painted."""
    return playground.evaluate(
        """() => {
      const canvas = document.querySelector("#linechart");
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return painted;
    }"""
    )


def test_run_with_k_seeds_band_small_multiples_and_adopting_one(playground):
    playground.open(LINK)
    page = playground.page
    runs = page.get_by_label("Runs (K)")
    assert runs.input_value() == "20" and page.locator("#run-seeds").text_content() == "Run with 20 seeds"
    runs.fill("6")
    runs.press("Enter")
    playground.wait_until(lambda: playground.hash().get("seedRuns") == "6", message="K in the link")
    assert page.locator("#run-seeds").text_content() == "Run with 6 seeds"
    blank = chart_pixels(playground)
    page.click("#run-seeds")
    play = page.locator("#play-pause-button")
    # The band, every run and the median on the chart; six maps; the line counts who reached the stop rule.
    playground.wait_until(lambda: stats(playground, "seedUpdates") >= 3, message="seed updates drawn")
    assert playground.count(".seed-map canvas") == 6
    assert play.get_attribute("aria-pressed") == "false"  # the K runs train, not the learner's own run
    playground.wait_until(lambda: chart_pixels(playground) > blank + 500, message="the band drawn on the chart")
    line = playground.text(".seed-line")
    assert line.startswith("6 runs, ") and "median test loss" in line and "90th percentile" in line
    playground.wait_until(
        lambda: "reached the stop rule (test loss below 0.1) after" in playground.text(".seed-line"),
        timeout=60,
        message="runs reaching the stop rule",
    )
    # A run that reached the stop rule: play goes on past it (the rule pauses once). A run still on its way would
    # stop again a few epochs after play, where its rule holds.
    tile = page.locator('.seed-map[data-status="stopped"]').first
    assert tile.get_attribute("title").startswith("Run ") and ", seed " in tile.get_attribute("title")
    tile.click()
    playground.wait_until(lambda: page.locator("#seed-runs").is_hidden(), message="the seed panel to close")
    adopted = playground.wait_until(lambda: playground.epoch(), message="the adopted run's epoch")
    assert adopted > 0 and playground.hash()["seed"] == "0.31415"  # the same data: the learner's seed
    # Go on training from it, at the pace: play, and the epoch counts on from the member's, frame by frame.
    frames = playground.frames()
    page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > adopted + 20, message="training on from the adopted run")
    assert playground.frames() > frames + 10 and play.get_attribute("aria-pressed") == "true"
    page.click("#play-pause-button")
