"""`open_link` and the `hash` of config replies, the protocol the page relies on, through the Flask-SocketIO test
client: a link's out-of-range number is clamped with a notice, `_hide` keys come back in `hidden` and stay in every
later hash, and the hash reads back as the same config."""
import pytest

from playground.web.factory import create_app
from playground.web.settings import Settings


@pytest.fixture(scope="module")
def app():
    return create_app(Settings.from_env(environ={}))


def pairs(url_hash: str) -> dict:
    return dict(pair.partition("=")[::2] for pair in url_hash.lstrip("#").split("&"))


def test_a_link_is_applied_leniently_with_notices(client):
    reply = client.emit("open_link", {"hash": "#activation=relu&noise=95&seed=link-1&batchSize_hide=true"},
                        callback=True)
    assert reply["ok"] is True
    assert reply["config"]["activation"] == "relu" and reply["config"]["seed"] == "link-1"
    assert reply["config"]["noise"] == 80
    (notice,) = reply["notices"]
    assert notice["field"] == "noise" and "95" in notice["message"] and "80" in notice["message"]
    assert reply["hidden"] == ["batchSize"]
    assert pairs(reply["hash"])["noise"] == "80" and pairs(reply["hash"])["batchSize_hide"] == "true"


def test_every_config_reply_carries_the_sessions_link(client):
    client.emit("open_link", {"hash": "#seed=link-2&x_hide=true&cosX=false"}, callback=True)
    for event, payload in (("update_config", {"activation": "sigmoid"}), ("reset", None), ("regenerate", None)):
        reply = client.emit(event, payload, callback=True) if payload else client.emit(event, callback=True)
        link = pairs(reply["hash"])
        assert link["activation"] == "sigmoid" and link["seed"] == reply["config"]["seed"], event
        assert link["x_hide"] == "true" and link["cosX"] == "false", event
    # The link reads back as the same config.
    reopened = client.emit("open_link", {"hash": reply["hash"]}, callback=True)
    assert reopened["config"] == reply["config"] and reopened["notices"] == []


def test_a_link_that_is_not_text_is_refused_and_changes_nothing(client):
    before = client.emit("update_config", {}, callback=True)["config"]
    for bad in (None, 7, "#" + "a" * 5000):
        reply = client.emit("open_link", {"hash": bad}, callback=True)
        assert reply["ok"] is False and reply["error"]["field"] == "hash"
    assert client.emit("update_config", {}, callback=True)["config"] == before
