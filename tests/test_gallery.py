"""A class's wall saved as a gallery (`save_gallery`, `/g/<id>`), through the Flask-SocketIO test client and Flask's
test client, on SQLite and on PostgreSQL."""

import json

import pytest
import torch

from playground import saved, wire
from playground.web import saving
from tests import test_classroom
from tests.services import on_both_back_ends
from tests.test_classroom import call, join, sid_of

app_settings, connect = test_classroom.app_settings, test_classroom.connect  # its fixtures: the same app and clients
pytestmark = on_both_back_ends


def start_class(connect):
    teacher = connect()
    reply = call(teacher, "start_class")
    assert reply["ok"], reply
    teacher.code = reply["room"]["code"]
    return teacher


def steps(client, count: int) -> None:
    for _ in range(count):
        assert call(client, "step")["ok"]


@pytest.fixture
def classroom(connect):
    """A teacher and two learners, Ada (3 epochs of tanh) and Bo (5 epochs of ReLU), who joined in that order."""
    teacher = start_class(connect)
    learners = []
    for name, activation, epochs in (("Ada", "tanh", 3), ("Bo", "relu", 5)):
        learner = connect()
        join(learner, teacher.code, name)
        assert call(learner, "update_config", {"activation": activation})["ok"]
        steps(learner, epochs)
        learners.append(learner)
    return teacher, learners


def experiment_of(hub, socketio, client):
    return hub.connections[sid_of(socketio, client)].experiment


def test_the_teacher_saves_the_wall_and_each_run_opens_as_the_learners_run(classroom, connect, hub, socketio):
    teacher, learners = classroom
    reply = call(teacher, "save_gallery", {"names": True})
    assert reply["ok"], reply
    assert saving.ID_PATTERN.fullmatch(reply["id"]) and reply["url"] == f"/g/{reply['id']}"
    assert [(run["name"], run["epoch"]) for run in reply["runs"]] == [("Ada", 3), ("Bo", 5)]
    gallery = hub.store.get(saving.GALLERY, reply["id"])
    assert gallery["runs"] == reply["runs"] and teacher.code not in json.dumps(gallery)
    for run, learner in zip(reply["runs"], learners, strict=True):
        experiment = experiment_of(hub, socketio, learner)
        mine = experiment.session
        assert bytes(run["map"]) == wire.output_thumbnail(experiment.newest)  # the wall's tile of the state saved
        assert run["testLoss"] == mine.test_loss
        viewer = connect()
        opened = call(viewer, "open_experiment", {"id": run["id"]})
        assert opened["ok"] and (opened["title"], opened["epoch"]) == (run["name"], run["epoch"])
        theirs = experiment_of(hub, socketio, viewer).session
        assert theirs.config == mine.config and torch.equal(theirs.net.flat, mine.net.flat)
        steps(viewer, 2)
        steps(learner, 2)
        assert (theirs.train_loss, theirs.test_loss) == (mine.train_loss, mine.test_loss)


def test_without_names_the_runs_are_numbered_and_no_name_is_stored(classroom, connect, hub):
    teacher, _ = classroom
    reply = call(teacher, "save_gallery", {"names": False})
    assert reply["ok"], reply
    assert [run["name"] for run in reply["runs"]] == ["Learner 1", "Learner 2"]
    stored = json.dumps(hub.store.get(saving.GALLERY, reply["id"]))
    assert "Ada" not in stored and "Bo" not in stored
    for run in reply["runs"]:
        session, head = saved.unpack(hub.store.get(saving.EXPERIMENT, run["id"]))
        assert head["title"] == run["name"] and session.epoch == run["epoch"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"names": "yes"}, "names"), ({"names": 1}, "names"), ({}, "names"), (None, "payload"), ([True], "payload")],
)
def test_a_bad_payload_is_refused_by_name(classroom, hub, payload, field):
    teacher, _ = classroom
    before = hub.store.scan(saving.GALLERY)
    reply = teacher.emit("save_gallery", payload, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == field, reply
    assert hub.store.scan(saving.GALLERY) == before


def test_only_the_teacher_saves_a_gallery(classroom, hub):
    _, learners = classroom
    before = hub.store.scan(saving.GALLERY)
    reply = call(learners[0], "save_gallery", {"names": True})
    assert not reply["ok"] and reply["error"]["field"] == "teacher"
    assert hub.store.scan(saving.GALLERY) == before


def test_a_class_with_nobody_connected_has_no_gallery(connect):
    reply = call(start_class(connect), "save_gallery", {"names": True})
    assert not reply["ok"] and reply["error"]["field"] == "gallery" and "no learner" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("settings", "galleries_before_refusal", "words"),
    [
        ({"max_experiment_bytes": 2_000}, 0, "Ada's run takes"),
        ({"saves_burst": 1.0, "saves_per_hour": 1.0}, 1, "saves an hour"),
    ],
)
def test_galleries_take_the_saves_allowance_and_size_limit(
    make_app, new_database, settings, galleries_before_refusal, words
):
    app = make_app(**settings, stall_seconds=1000.0, database_url=new_database())
    socketio, hub = app.extensions["socketio"], app.extensions["playground_hub"]
    clients = [socketio.test_client(app) for _ in range(2)]
    try:
        teacher, learner = clients
        code = call(teacher, "start_class")["room"]["code"]
        join(learner, code, "Ada")
        for _ in range(galleries_before_refusal):
            assert call(teacher, "save_gallery", {"names": True})["ok"]
        stored = hub.store.scan(saving.EXPERIMENT), hub.store.scan(saving.GALLERY)
        reply = call(teacher, "save_gallery", {"names": True})
        assert not reply["ok"] and reply["error"]["field"] == "gallery" and words in reply["error"]["message"]
        assert (hub.store.scan(saving.EXPERIMENT), hub.store.scan(saving.GALLERY)) == stored  # nothing stored
    finally:
        for client in clients:
            client.disconnect()


def test_the_gallery_page_lists_the_runs_and_an_unknown_id_is_the_404_page(classroom, app):
    teacher, _ = classroom
    reply = call(teacher, "save_gallery", {"names": True})
    page = app.test_client().get(reply["url"])
    assert page.status_code == 200 and b"js/gallery.js" in page.data and b"2 saved runs" in page.data
    data = page.data.decode().split('<script type="application/json" id="gallery-data">', 1)[1].split("</script>")[0]
    assert json.loads(data)["runs"] == reply["runs"]
    for unknown in ("Z" * 16, "nope", reply["runs"][0]["id"]):  # a saved experiment's id names no gallery
        missing = app.test_client().get(f"/g/{unknown}")
        assert missing.status_code == 404 and b"No saved experiment has this link" in missing.data
        assert b"Traceback" not in missing.data
