"""The class's wall when a class spans processes: each process's part of it, and the one wall merged from the parts.

Every process that has learners of a class (or a teacher page watching one of them) publishes its part of that
class's wall a few times a second: one entry per learner connected to it (what the class view knows of the run,
the tile's fields, the output thumbnail) and which learners its pages watch. Every process keeps the newest part
from each process (`Parts`), forgets a process silent for PART_SECONDS (it died, or lost Redis), and merges the
fresh parts into the wall it sends its own teacher pages: all the tiles, the class summary over all the runs
(`rooms.class_summary`: the maths stays there), the leaderboard from the store. Pure Python: time is passed in.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from . import rooms

PART_SECONDS = 1.5  # a part older than this is forgotten: six wall periods, so a busy process's late part never
# drops its learners from the wall for a moment, and a dead process's tiles go within two seconds


@dataclass(frozen=True)
class Entry:
    """One learner's place on the wall, from the process where the learner is connected."""

    run: rooms.Run
    name: str
    joined_at: float
    reached: bool  # the run meets the class's challenge now
    stuck: bool
    thumbnail: bytes  # the output's 10x10 thumbnail, 100 codes

    def tile(self) -> dict:
        run = self.run
        return {
            "member": run.member,
            "name": self.name,
            "joinedAt": self.joined_at,
            "epoch": run.epoch,
            "testLoss": run.test_loss,
            "testAccuracy": run.test_accuracy,
            "status": run.status,
            "hiddenNeurons": run.hidden_neurons,
            "reached": self.reached,
            "stuck": self.stuck,
        }


@dataclass(frozen=True)
class Part:
    """One process's part of one class's wall. `watching`: member -> the ids of this process's connections that
    view that learner's run (the learner's own process sends them its frames)."""

    origin: str
    code: str
    entries: tuple[Entry, ...]
    watching: dict[str, tuple[str, ...]]

    def to_json(self) -> dict:
        """As it travels on the bus (JSON: the thumbnails in base64)."""
        return {
            "origin": self.origin,
            "code": self.code,
            "entries": [
                {
                    "run": dict(vars(entry.run)),  # shallow: asdict's deep copy took most of the time
                    "name": entry.name,
                    "joinedAt": entry.joined_at,
                    "reached": entry.reached,
                    "stuck": entry.stuck,
                    "thumbnail": base64.b64encode(entry.thumbnail).decode("ascii"),
                }
                for entry in self.entries
            ],
            "watching": {member: list(sids) for member, sids in self.watching.items()},
        }

    @classmethod
    def from_json(cls, message: dict) -> Part:
        entries = tuple(
            Entry(
                run=rooms.Run(**entry["run"]),
                name=entry["name"],
                joined_at=entry["joinedAt"],
                reached=entry["reached"],
                stuck=entry["stuck"],
                thumbnail=base64.b64decode(entry["thumbnail"]),
            )
            for entry in message["entries"]
        )
        watching = {member: tuple(sids) for member, sids in message["watching"].items()}
        return cls(message["origin"], message["code"], entries, watching)


class Parts:
    """The newest part of each process, per class, with the time it arrived."""

    def __init__(self, lifetime: float = PART_SECONDS):
        self.lifetime = lifetime
        self._parts: dict[str, dict[str, tuple[float, Part]]] = {}  # code -> origin -> (arrived, part)
        self._pruned_at = float("-inf")

    def keep(self, part: Part, now: float) -> None:
        if now - self._pruned_at > self.lifetime:  # the classes nobody publishes for any more go too
            self._pruned_at = now
            self.prune(now)
        self._parts.setdefault(part.code, {})[part.origin] = (now, part)

    def forget(self, code: str) -> None:
        self._parts.pop(code, None)

    def fresh(self, code: str, now: float) -> list[Part]:
        """The class's parts heard within the lifetime, oldest first (stale ones are dropped here)."""
        parts = self._parts.get(code, {})
        for origin, (arrived, _) in list(parts.items()):
            if now - arrived > self.lifetime:
                del parts[origin]
        if not parts:
            self._parts.pop(code, None)
        return [part for _, part in sorted(parts.values(), key=lambda arrived_part: arrived_part[0])]

    def prune(self, now: float) -> None:
        for code in list(self._parts):
            self.fresh(code, now)

    def entries(self, code: str, now: float) -> list[Entry]:
        """Every learner of the class on any process, once each (a learner who moved to another process counts
        where it was heard last), by time joined."""
        by_member = {entry.run.member: entry for part in self.fresh(code, now) for entry in part.entries}
        return sorted(by_member.values(), key=lambda entry: (entry.joined_at, entry.run.member))

    def watchers(self, code: str, now: float) -> dict[str, set[tuple[str, str]]]:
        """member -> the (origin, connection id) pairs that view that learner's run."""
        watched: dict[str, set[tuple[str, str]]] = {}
        for part in self.fresh(code, now):
            for member, sids in part.watching.items():
                watched.setdefault(member, set()).update((part.origin, sid) for sid in sids)
        return watched

    def wall(self, code: str, now: float, leaderboard: list[dict]) -> dict:
        """The `wall` payload of the whole class (docs/protocol.md)."""
        entries = self.entries(code, now)
        stuck = {entry.run.member for entry in entries if entry.stuck}
        return {
            "tiles": [entry.tile() for entry in entries],
            "maps": b"".join(entry.thumbnail for entry in entries),
            "summary": rooms.class_summary([entry.run for entry in entries], stuck),
            "leaderboard": leaderboard,
        }
