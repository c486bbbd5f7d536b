"""Security basics: nothing a user sends reaches eval, pickle, a shell or a file path; no stack traces out."""
import ast
from pathlib import Path

import pytest

from playground.web.factory import create_app
from playground.web.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1] / "playground"
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


def test_only_the_web_layer_knows_about_the_web():
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        for word in ("flask", "socketio", "eventlet"):
            assert f"import {word}" not in source and f"from {word}" not in source, f"{path} uses {word}"


def test_eventlet_is_used_in_one_module_only():
    users = [path.name for path in PACKAGE.rglob("*.py") if "eventlet" in path.read_text().replace(
        "async_mode='eventlet'", "") and "import eventlet" in path.read_text()]
    assert users == ["concurrency.py"]


@pytest.fixture(scope="module")
def http():
    return create_app(Settings.from_env(environ={})).test_client()


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
