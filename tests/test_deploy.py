"""The one-click deploy files say what the owner fixed: eventlet's own server, CPU-only torch, Python 3.11."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_procfile_runs_app_py():
    assert (ROOT / "Procfile").read_text().strip() == "web: python app.py"


def test_python_version():
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


def test_heroku_gets_the_cpu_only_torch_wheel_and_local_installs_stay_offline():
    heroku = (ROOT / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in heroku
    assert re.search(r"^torch==2\.13\.0\+cpu$", heroku, re.M)
    assert "-r requirements/app.txt" in heroku
    local = (ROOT / "requirements" / "dev.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", local, re.M) and "index-url" not in local
    app = (ROOT / "requirements" / "app.txt").read_text()
    for package in ("flask", "flask-socketio", "python-socketio", "eventlet", "numpy"):
        assert re.search(rf"^{package}==", app, re.M), package
    assert not re.search(r"^torch", app, re.M)


def test_app_json_deploys_one_web_dyno_with_node_and_python():
    manifest = json.loads((ROOT / "app.json").read_text())
    assert manifest["formation"]["web"]["quantity"] == 1
    assert [b["url"] for b in manifest["buildpacks"]] == ["heroku/nodejs", "heroku/python"]
    assert manifest["env"]["SECRET_KEY"]["generator"] == "secret"


def test_socketio_client_comes_from_npm_pinned_by_the_lock_file():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/socket.io-client"]["version"] == "4.8.4"
    assert not list((ROOT / "static").rglob("*.min.js"))


def test_the_one_click_deploy_stays_one_dyno_without_add_ons_and_names_the_scaled_form():
    manifest = json.loads((ROOT / "app.json").read_text())
    assert manifest["formation"]["web"]["quantity"] == 1 and not manifest.get("addons")
    assert "MESSAGE_QUEUE" in manifest["env"]["MESSAGE_QUEUE_OPTIONS"]["description"]
    app = (ROOT / "requirements" / "app.txt").read_text()
    assert re.search(r"^redis==8\.1\.0$", app, re.M) and re.search(r"^psycopg\[binary\]==3\.", app, re.M)


def test_haproxy_sticks_by_cookie_not_by_address_and_checks_every_process():
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "cookie SERVERID insert indirect nocache" in config and "option redispatch" in config
    assert re.search(r"^\s+balance roundrobin$", config, re.M) and not re.search(r"^\s+balance source", config, re.M)
    servers = re.findall(r"^\s+server (app\d) .* check .* cookie (app\d)$", config, re.M)
    assert len(servers) == 8 and all(name == cookie for name, cookie in servers)
