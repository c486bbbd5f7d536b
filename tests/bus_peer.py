"""One process of a cluster's command bus, for tests: `python -m tests.bus_peer REDIS_URL listen TOPIC` prints each
message of TOPIC as a JSON line; `... publish TOPIC COUNT` publishes {"n": 0} ... {"n": COUNT - 1}, one every
20 ms; `... newest TOPIC COUNT` the same with `publish_newest`, all of one key. All print {"degraded": bool}
whenever the bus's health changes. Monkey-patched and green, as the app is."""

from playground.web import concurrency

concurrency.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402

from playground.web.bus import RedisBus  # noqa: E402


def say(line: dict) -> None:
    print(json.dumps(line), flush=True)


def main(url: str, role: str, topic: str, count: str = "0") -> None:
    bus = RedisBus(url)
    bus.on_health(lambda degraded: say({"degraded": degraded}))
    if role == "listen":
        bus.subscribe(topic, say)
        say({"listening": True})
        while True:
            concurrency.sleep(1)
    for number in range(int(count)):
        if role == "newest":
            bus.publish_newest(topic, "one key", {"n": number})
        else:
            bus.publish(topic, {"n": number})
        concurrency.sleep(0.02)
    say({"published": int(count)})
    while True:  # the outbox goes out when Redis is back; the test stops this process
        concurrency.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:])
