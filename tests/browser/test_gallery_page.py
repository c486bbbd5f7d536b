"""A class's wall saved as a gallery in Chromium: the wall's "Save as gallery" without names, the /g/ page's tiles
(each map painted, each a link), and a tile opening that learner's run at its epoch."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Playground

pytestmark = pytest.mark.timeout(180)
PAINTED = "(canvas) => canvas.getContext('2d').getImageData(0, 0, 10, 10).data.some((value) => value > 0)"


def test_the_wall_saves_a_gallery_whose_tiles_open_the_runs(browser, live_server):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    problems = []
    try:
        teacher_context, *learner_contexts = contexts
        teacher = Playground(teacher_context.new_page(), live_server.url).open()
        teacher.page.click("#class-start")
        code = teacher.wait_until(lambda: teacher.text("#class-teacher-code"), message="the class's code")
        wall = Playground(teacher_context.new_page(), live_server.url)
        wall.page.on("pageerror", lambda error: problems.append(str(error)))
        wall.page.goto(f"{live_server.url}/teach/{code}")
        wall.wait_until(lambda: wall.text("#wall-status") == "Live", message="the wall to claim the class")

        for steps, (context, name) in enumerate(zip(learner_contexts, ["Ada", "Grace"], strict=True), 2):
            learner = Playground(context.new_page(), live_server.url).open()
            learner.page.fill("#class-code", code)
            learner.page.fill("#class-name", name)
            learner.page.click("#class-join-button")
            learner.wait_until(learner.page.locator(".class-learner").is_visible, message="the learner in the class")
            for _ in range(steps):
                learner.page.click("#next-step-button")
            learner.wait_until(lambda learner=learner, steps=steps: learner.epoch() == steps, message="its steps")
        wall.wait_until(lambda: wall.count(".tile") == 2, message="two tiles on the wall")

        wall.page.uncheck("#gallery-names")
        wall.page.click("#save-gallery")
        link = wall.page.locator("#gallery-link")
        wall.wait_until(link.is_visible, message="the gallery's link")
        assert "2 runs" in link.text_content()

        gallery = Playground(teacher_context.new_page(), live_server.url)
        gallery.page.on("pageerror", lambda error: problems.append(str(error)))
        gallery.page.goto(live_server.url + link.get_attribute("href"))
        gallery.wait_until(lambda: gallery.count("#gallery-runs a.tile") == 2, message="the gallery's two tiles")
        assert gallery.page.locator(".tile-name").all_text_contents() == ["Learner 1", "Learner 2"]
        assert gallery.page.locator(".tile-epoch").all_text_contents() == ["epoch 2", "epoch 3"]
        for canvas in gallery.page.locator(".tile-map").all():
            assert canvas.evaluate(PAINTED)

        gallery.page.locator("a.tile").nth(1).click()
        opened = Playground(gallery.page, live_server.url).ready()
        assert "/e/" in gallery.page.url and opened.epoch() == 3
        assert problems == []
    finally:
        for context in contexts:
            context.close()
