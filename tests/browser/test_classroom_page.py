"""The classroom in one Chromium: a teacher's playground, wall and projector (one browser profile, so one teacher
key) and three learners (each their own profile): join by code, tiles, push config, a lock, pause all, a challenge
reached, spotlight. Writes the wall's screenshot to test-results/ (docs/screenshot-wall.png with
SCREENSHOT_WALL=1)."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import Playground
from tests.live_server import ROOT

pytestmark = pytest.mark.timeout(240)
START = "#dataset=circle&seed=0.5&networkShape=4,2&learningRate=0.03&activation=tanh"


def test_a_class_from_start_to_challenge(browser, live_server):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(4)]
    problems = []
    try:
        teacher_context, *learner_contexts = contexts
        teacher = Playground(teacher_context.new_page(), live_server.url).open(START)
        teacher.page.on("pageerror", lambda error: problems.append(str(error)))
        teacher.page.click("#class-start")
        code = teacher.wait_until(lambda: teacher.text("#class-teacher-code"), message="the class's code")
        assert teacher.page.locator("#class-qr").get_attribute("src").startswith("data:image/svg+xml")

        wall = Playground(teacher_context.new_page(), live_server.url)
        wall.page.on("pageerror", lambda error: problems.append(str(error)))
        wall.page.goto(f"{live_server.url}/teach/{code}")
        wall.wait_until(lambda: wall.text("#wall-status") == "Live", message="the wall to claim the class")
        projector = Playground(teacher_context.new_page(), live_server.url)
        projector.page.on("pageerror", lambda error: problems.append(str(error)))
        projector.page.goto(f"{live_server.url}/project/{code}")
        projector.wait_until(lambda: projector.text("#wall-status") == "", message="the projector to claim the class")
        # The teacher works on the wall, so it is the tab in front (as on the teacher's screen): a tab behind gets no
        # animation frames, and each of Playwright's clicks there waits about two seconds for the page to be stable.
        wall.page.bring_to_front()

        learners = []
        for number, context in enumerate(learner_contexts):
            learner = Playground(context.new_page(), live_server.url).open()
            learner.page.on("pageerror", lambda error: problems.append(str(error)))
            learner.page.fill("#class-code", code.lower())
            learner.page.fill("#class-name", ["Ada", "Grace", "Alan"][number])
            learner.page.click("#class-join-button")
            joined = learner.page.locator(".class-learner")
            learner.wait_until(joined.is_visible, message="the learner in the class")
            assert learner.text("#class-learner-code") == code
            learners.append(learner)
        wall.wait_until(lambda: wall.count(".tile") == 3, message="three tiles on the wall")
        assert sorted(wall.page.locator(".tile-name").all_text_contents()) == ["Ada", "Alan", "Grace"]

        # Push config: the teacher's playground goes to ReLU; every learner's control follows.
        teacher.page.select_option("[data-option=activation] select", "relu")
        teacher.wait_until(lambda: "activation=relu" in teacher.evaluate("() => location.hash"), message="relu")
        wall.page.click("#push")
        for learner in learners:
            learner.wait_until(
                lambda learner=learner: learner.page.locator("[data-option=activation] select").input_value() == "relu",
                message="the pushed config on a learner's page",
            )

        # A lock: the learners' learning-rate control shows it locked.
        wall.page.click(".locks-panel summary")
        wall.page.check("#locks input[value=learningRate]")
        for learner in learners:
            learner.wait_until(
                lambda learner=learner: (
                    "class-locked" in (learner.page.locator("[data-option=learningRate]").get_attribute("class") or "")
                ),
                message="the lock on a learner's page",
            )

        # Everyone trains; pause all stops every run; a challenge, then resume all: someone reaches it.
        for learner in learners:
            learner.page.click("#play-pause-button")
        wall.wait_until(
            lambda: wall.page.locator('.tile[data-status="running"]').count() == 3, message="three running tiles"
        )
        wall.page.click("#pause-all")
        for learner in learners:
            learner.wait_until(
                lambda learner=learner: learner.page.locator("#play-pause-button.playing").count() == 0,
                message="a learner's run paused",
            )
        wall.wait_until(lambda: wall.page.locator('.tile[data-status="stopped"]').count() == 3, message="all stopped")
        wall.page.select_option("#challenge-dataset", "circle")
        wall.page.select_option("#challenge-kind", "aboveTestAccuracy")
        wall.page.fill("#challenge-target", "0.9")
        wall.page.click("#challenge-set")
        wall.wait_until(lambda: "accuracy above 0.9" in wall.text("#challenge-shown"), message="the challenge set")
        wall.page.click("#resume-all")
        wall.wait_until(lambda: wall.count("#leaderboard li") >= 1, timeout=60, message="someone reached the challenge")
        assert wall.count(".tile.reached") >= 1

        # Spotlight: open a tile full size, put it on the projector.
        wall.page.locator(".tile").first.click()
        wall.wait_until(lambda: wall.page.locator("#detail").is_visible(), message="the run full size")
        name = wall.text("#detail-name")
        wall.wait_until(lambda: int(wall.text("#detail [data-run=epoch]").replace(",", "")) > 0, message="its frames")
        wall.page.click("#detail-spotlight")
        projector.wait_until(lambda: projector.text("#spotlight-name") == name, message="the spotlit name")
        projector.wait_until(
            lambda: int(projector.text("[data-run=epoch]").replace(",", "")) > 0, message="the spotlit run's frames"
        )
        wall.page.click("#detail-close")
        shot = ROOT / ("docs/screenshot-wall.png" if os.environ.get("SCREENSHOT_WALL") else "test-results/wall.png")
        shot.parent.mkdir(exist_ok=True)
        wall.page.screenshot(path=str(shot), full_page=False)
        assert problems == []
    finally:
        for context in contexts:
            context.close()
