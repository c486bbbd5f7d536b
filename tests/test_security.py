"""Security basics: nothing a user sends reaches eval, pickle, a shell or a file path; no stack traces out."""

import ast
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "playground"
EVENTLET_MODULE = PACKAGE / "web" / "concurrency.py"
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "subprocess", "os.system", "dill"}


def test_the_package_never_evaluates_unpickles_or_shells_out():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in FORBIDDEN_CALLS, f"{path}: {node.func.id}()"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {alias.name for alias in node.names} | {getattr(node, "module", None) or ""}
                assert not names & FORBIDDEN_MODULES, f"{path}: imports {names & FORBIDDEN_MODULES}"


def imports_of(source: str, package: str) -> list[str]:
    """The modules of `package` that `source` imports, however: `import p.x`, `from p.x import y`, and
    `__import__("p.x")` or `importlib.import_module("p.x")` with the name written out."""

    def of_package(name: str | None) -> bool:
        return name is not None and (name == package or name.startswith(package + "."))

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if of_package(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and of_package(node.module):
            found.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            name = node.args[0].value
            if function in ("__import__", "import_module") and isinstance(name, str) and of_package(name):
                found.append(name)
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "import eventlet",
        "import os, eventlet.tpool as pool",
        "from eventlet import tpool",
        "from eventlet.green import threading",
        "def f():\n    import eventlet",
        "__import__('eventlet')",
        "importlib.import_module('eventlet.hubs')",
        "from importlib import import_module\nimport_module('eventlet')",
    ],
)
def test_imports_of_finds_every_way_to_import_a_package(snippet):
    assert imports_of(snippet, "eventlet")


@pytest.mark.parametrize(
    "snippet",
    [
        "import eventlets",
        "from .eventlet import x",
        "SocketIO(app, async_mode='eventlet')",
        "x = 'import eventlet'",
        "__import__(name)",
        "from flask_socketio import SocketIO",
    ],
)
def test_imports_of_ignores_what_is_not_an_import_of_the_package(snippet):
    assert not imports_of(snippet, "eventlet")


def project_sources() -> list[Path]:
    """Every Python file of the project: the package, the tests, the benchmarks and the entry point."""
    return sorted(
        [
            *PACKAGE.rglob("*.py"),
            *(PROJECT / "tests").rglob("*.py"),
            *(PROJECT / "bench").rglob("*.py"),
            PROJECT / "app.py",
        ]
    )


def test_only_the_web_layer_knows_about_the_web():
    for path in PACKAGE.glob("*.py"):
        for package in ("flask", "flask_socketio", "socketio", "engineio", "eventlet"):
            assert not imports_of(path.read_text(), package), f"{path} uses {package}"


def test_eventlet_is_used_in_one_module_only():
    # app.py reaches eventlet only through concurrency.monkey_patch() and concurrency.serve().
    users = [
        path.relative_to(PROJECT).as_posix() for path in project_sources() if imports_of(path.read_text(), "eventlet")
    ]
    assert users == [EVENTLET_MODULE.relative_to(PROJECT).as_posix()]


@pytest.fixture(scope="module")
def http(app):
    return app.test_client()


def test_errors_carry_no_stack_trace(http):
    missing = http.get("/no/such/page")
    assert missing.status_code == 404 and b"Traceback" not in missing.data
    assert http.get("/vendor/../../app.py").status_code == 404
    assert http.post("/").status_code == 405


def test_http_is_same_origin_only(http):
    response = http.get("/", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- what the server tells strangers (issue 10) -------------------------------------------------------------------

STRANGER = {"REMOTE_ADDR": "203.0.113.9"}
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def test_healthz_says_healthy_and_nothing_more(http):
    assert http.get("/healthz", environ_base=STRANGER).get_json() == {"ok": True}


def test_metrics_are_for_loopback_or_the_bearer_of_the_token(make_app):
    http = make_app(metrics_token="s3cret").test_client()
    assert http.get("/metrics", environ_base=STRANGER).status_code == 404
    wrong = http.get("/metrics", environ_base=STRANGER, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 404
    right = http.get("/metrics", environ_base=STRANGER, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200 and "connections" in right.get_json()
    assert http.get("/metrics").status_code == 200  # the test client is 127.0.0.1


def test_without_a_token_metrics_are_for_loopback_only(http):
    assert http.get("/metrics", environ_base=STRANGER).status_code == 404


def test_engineio_errors_never_echo_the_request(http):
    for path in [
        HANDSHAKE + "&sid=<script>alert(1)</script>",
        "/socket.io/?EIO=4&transport=<b>x</b>",
        "/socket.io/?EIO=3&transport=polling&x=<i>",
    ]:
        response = http.get(path, environ_base=STRANGER)
        assert response.status_code == 400 and response.data == b'"Bad Request"', (path, response.data)


def test_socketio_responses_carry_the_security_headers(http):
    response = http.get(HANDSHAKE, environ_base=STRANGER)
    assert response.status_code == 200 and response.data.startswith(b"0{")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_jsonp_polling_is_refused(http):
    response = http.get(HANDSHAKE + "&j=0", environ_base=STRANGER)
    assert response.status_code == 400 and b"___eio" not in response.data


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example", "Origin": "http://evil.example"},  # DNS rebinding
        {"Host": "localhost:5000", "Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"},
        {"Host": "localhost:5000", "Origin": "http://localhost:5001"},
    ],
)
def test_socketio_accepts_only_the_public_origins(http, headers):
    assert http.get(HANDSHAKE, headers=headers, environ_base=STRANGER).status_code == 400


def test_the_local_addresses_are_the_default_public_origins(http):
    for origin in ["http://localhost:5000", "http://127.0.0.1:5000"]:
        assert http.get(HANDSHAKE, headers={"Origin": origin}, environ_base=STRANGER).status_code == 200


def test_a_configured_public_origin_replaces_the_local_ones(make_app):
    http = make_app(public_origins="https://playground.school.example").test_client()
    allowed = http.get(HANDSHAKE, headers={"Origin": "https://playground.school.example"}, environ_base=STRANGER)
    refused = http.get(HANDSHAKE, headers={"Origin": "http://localhost:5000"}, environ_base=STRANGER)
    assert allowed.status_code == 200 and refused.status_code == 400


def test_forwarded_headers_count_only_from_a_trusted_proxy(make_app, http):
    proxied = make_app(trusted_proxies="127.0.0.1").test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert proxied.get("/metrics", headers=forwarded).status_code == 404  # a stranger, through the proxy
    assert (
        proxied.get("/metrics", headers=forwarded, environ_base=STRANGER | {"REMOTE_ADDR": "198.51.100.1"}).status_code
        == 404
    )
    lying = {"X-Forwarded-For": "127.0.0.1"}  # without a trusted proxy the header counts for nothing
    assert http.get("/metrics", headers=lying, environ_base=STRANGER).status_code == 404


def test_refused_connections_are_logged_together_not_one_line_each(caplog):
    from playground.web.guard import REFUSALS_LOGGED_EVERY, AddressLimits

    limits = AddressLimits(max_connections=1, max_pending=1)
    assert limits.admit("10.0.0.9")
    with caplog.at_level("WARNING", logger="playground.web.guard"):
        for _ in range(1000):
            assert not limits.admit("10.0.0.9")
        limits._log_refusal("10.0.0.9", time.monotonic() + REFUSALS_LOGGED_EVERY)  # the next interval
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("1 connection(s) from 10.0.0.9 refused")
    assert lines[1].startswith("1000 connection(s) from 10.0.0.9 refused")  # 999 waiting, and this one
