"""The page in a cluster: Debian's Chromium through HAProxy (deploy/haproxy.cfg) in front of two app processes on
one redis-server. The page starts on long-polling, as it does in production, so it needs the front's stickiness."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Playground
from tests.live_server import LiveServer, free_port
from tests.services import HAProxy, RedisServer, cluster_settings


@pytest.fixture(scope="module")
def cluster_processes():
    redis_server = RedisServer()
    front_port = free_port()
    apps = LiveServer.several(2, **cluster_settings(redis_server.url, front_port))
    front = HAProxy([app.port for app in apps], front_port)
    yield redis_server, apps, front
    front.stop()
    for app in apps:
        app.stop()
    redis_server.stop()


@pytest.fixture
def cluster(cluster_processes):
    """The module's cluster with every part running: a test kills an app process or stops Redis, and the next
    one gets it back (on the same port) instead of a whole new cluster."""
    redis_server, apps, _front = cluster_processes
    if redis_server.process.poll() is not None:
        redis_server.start()
    for app in apps:
        if app.process.poll() is not None:
            app.start()
    return cluster_processes


def holder(playground: Playground) -> str:
    """The app process HAProxy's cookie sends this page to."""
    cookies = {cookie["name"]: cookie["value"] for cookie in playground.page.context.cookies()}
    return cookies["SERVERID"]


def test_a_killed_process_s_page_comes_back_on_the_other_with_its_experiment(new_playground, cluster):
    _redis, apps, front = cluster
    playground = new_playground(viewport={"width": 1280, "height": 900})
    playground.base_url = front.url
    playground.open("#activation=relu&networkShape=3,3&seed=0.777&noise=10")
    playground.page.click("#play-pause-button")
    playground.wait_until(lambda: playground.epoch() > 10, message="training")
    before, first = playground.hash(), holder(playground)
    apps[int(first.removeprefix("app")) - 1].process.kill()  # kill -9: the page's process is gone at once
    playground.wait_until(lambda: holder(playground) != first, timeout=30, message="the page on the other process")
    playground.page.locator("#connection-status").wait_for(state="hidden", timeout=30000)
    playground.wait_until(lambda: playground.epoch() > 10, message="training to resume there")
    assert playground.hash() == before
    assert playground.count(".node.hidden-node") == 6
    assert playground.count(".error-message") == 0


def test_the_page_says_when_redis_is_away_and_trains_on(new_playground, cluster):
    redis_server, _apps, front = cluster
    playground = new_playground(viewport={"width": 1280, "height": 900})
    playground.base_url = front.url
    playground.open()
    notice = playground.page.locator("#service-status")
    assert notice.is_hidden()
    playground.page.click("#play-pause-button")
    redis_server.stop()
    notice.wait_for(state="visible", timeout=20000)
    assert "your own training goes on" in notice.text_content()
    frames = playground.frames()
    playground.wait_until(lambda: playground.frames() > frames + 30, message="frames while Redis is away")
    redis_server.start()
    notice.wait_for(state="hidden", timeout=30000)
