"""The load benchmark's own parts: the spread of class configs (bench/load.py) and the Node.js client swarm
(bench/swarm.mjs) against the real server. No figure is asserted here, only that what arrives is counted."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from bench.load import SWARM, mixed_config
from playground.options import FEATURES, MAX_HIDDEN_LAYERS, MAX_NEURONS, OPTIONS_BY_NAME, validate_changes
from tests.live_server import ROOT, free_port

NODE = shutil.which("node")


def node() -> str:
    """The Node.js that runs the swarm."""
    assert NODE, "Node.js is needed (make setup installs the npm packages it uses)"
    return NODE


def run_swarm(url: str, configs: list[dict], *options: str) -> list[dict]:
    """The swarm's JSON lines, after it exited by itself with status 0."""
    done = subprocess.run(
        [node(), str(SWARM), "--url", url, "--configs", "-", *options],
        cwd=ROOT,
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_mixed_configs_are_valid_different_and_spread_over_the_options():
    configs = [mixed_config(index) for index in range(30)]
    for config in configs:
        validate_changes(config)  # raises ConfigError on any bad option
        assert any(config[name] for name in FEATURES)
    assert configs == [mixed_config(index) for index in range(30)]  # the same for the same index
    assert len({json.dumps(config, sort_keys=True) for config in configs}) == 30
    assert len({tuple(config[name] for name in FEATURES) for config in configs}) == 30
    assert {len(config["networkShape"]) for config in configs} == set(range(MAX_HIDDEN_LAYERS + 1))
    assert {n for config in configs for n in config["networkShape"]} == set(range(1, MAX_NEURONS + 1))
    assert {config["activation"] for config in configs} == set(OPTIONS_BY_NAME["activation"].choices)
    datasets = {config.get("dataset", config.get("regDataset")) for config in configs}
    assert datasets == set(OPTIONS_BY_NAME["dataset"].choices) | set(OPTIONS_BY_NAME["regDataset"].choices)
    assert all("batchSize" not in config for config in configs)  # the default: the issue spreads the networks


def test_swarm_counts_frames_epochs_bytes_and_refusals(live_server):
    configs = [{"seed": "swarm-a"}, {"seed": "swarm-b", "batchSize": 99}]
    # Without compression every byte of a message is its payload or its WebSocket frame header.
    lines = run_swarm(live_server.url, configs, "--warmup", "0.5", "--seconds", "1", "--no-deflate")
    assert [line["phase"] for line in lines] == ["warmup", "measure", "measured", "result"]
    good, refused = lines[-1]["clients"]
    assert good["refusalCount"] == 0 and good["statuses"] == ["running"]
    assert good["frames"] >= 2 and good["epochs"] > 0 and good["epochsPerSecond"] > 0
    messages = good["mapUpdateMessages"]
    headers = good["mapUpdateBytes"]["median"] - good["mapUpdateDecodedBytes"]["median"]
    # A default-network frame is two messages (docs/protocol.md): its JSON text and `packed` each have 126 to 65,535
    # bytes, so each a 4-byte header (2, and 2 for the 16-bit length).
    assert messages == 2 and headers == 4 + 4
    assert good["bytesPerSecond"] >= good["framesPerSecond"] * good["mapUpdateBytes"]["median"] * 0.5
    # A bad config is refused twice (the reply and the error event), and that client is never started.
    assert refused["refusalCount"] == 2 and refused["frames"] == 0
    by_event = {refusal["event"]: refusal for refusal in refused["refusals"]}
    assert by_event["update_config"]["reply"]["error"]["field"] == "batchSize"
    assert by_event["error"]["error"]["field"] == "batchSize"

    # A client that asks for permessage-deflate, as browsers do, is not given it (the maps come deflated already):
    # the same frames cross the wire as they are, headers apart.
    asking = run_swarm(live_server.url, configs[:1], "--warmup", "0.5", "--seconds", "1")[-1]["clients"][0]
    assert asking["mapUpdateBytes"]["median"] - asking["mapUpdateDecodedBytes"]["median"] == 4 + 4


def test_swarm_ends_by_itself_when_nothing_answers():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_swarm(url, [{"seed": "nobody"}], "--warmup", "0", "--seconds", "0.1", "--connect-timeout", "5")[-1]
    (client,) = result["clients"]
    assert not client["connected"] and client["frames"] == 0
    assert [refusal["event"] for refusal in client["refusals"]] == ["connect"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--seconds=-1"],
        ["--warmup", "601"],
        ["--colour", "red"],
        ["--configs", "{}"],
        ["--configs", "[1]"],
        ["--clients", "2", "--configs", '[{"seed": "a"}]'],
    ],
)
def test_swarm_refuses_bad_arguments_with_a_reason(arguments):
    done = subprocess.run(
        [node(), str(SWARM), "--url", "http://127.0.0.1:1", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("swarm: ") and not done.stdout
