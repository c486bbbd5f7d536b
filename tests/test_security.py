"""Security basics: nothing a user sends reaches eval, pickle, a shell or a file path; no stack traces out."""

import ast
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
