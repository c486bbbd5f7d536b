"""Saved experiments and drafts in the store (playground/store.py), for the events in events.py and the /e/<id> page.

- A **saved experiment** (kind "experiment") is what "Save" stores: `playground.saved`'s bytes under an id of
  `ID_BYTES` random bytes (16 url-safe characters, from `secrets`: not guessable), never changed afterwards; its
  link is `/e/<id>`, and opening it gives that state exactly.
- A **draft** (kind "draft") is the learner's own run kept for a reload or a server restart: each connection gets a
  draft id (the page keeps it in localStorage) and its experiment is written there after the events that change it
  (at most once every `DRAFT_SECONDS`), every `draft_training_seconds` while it trains on (so a crash loses at most
  that much of a long run), and when the connection closes. Drafts expire after `draft_days`.
- A **gallery** (kind "gallery") is a class's wall saved by its teacher: each learner's run saved as an experiment
  (all packed in one native trip) and one document listing them, `{"runs": [{id, name, epoch, testLoss, map}]}`
  (`map`: the run's 10×10 output thumbnail, as the wall shows it), under an id like a saved experiment's; its page
  is `/g/<id>`. It names no class: it outlives the room.

Limits (settings.py): `max_experiment_bytes` per saved experiment or draft, and `saves_per_hour` (bursts of
`saves_burst`) per client (a gallery is one save). Packing reads the session, so it runs in the native thread (a
trip); the store is called from green threads.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from dataclasses import dataclass

from .. import saved, wire
from ..experiments import Experiment
from ..options import ConfigError
from ..store import StoreError
from ..tokens import TokenBucket

log = logging.getLogger(__name__)
ID_BYTES = 12
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16}")
DRAFT_SECONDS = 1.0
EXPERIMENT, DRAFT, GALLERY = "experiment", "draft", "gallery"


@dataclass
class Draft:
    key: str
    epoch: int  # the run's epoch when the draft was written last (or given)
    written_at: float  # time.monotonic() then
    dirty: bool = False


class Saves:
    def __init__(self, store, settings):
        self.store = store
        self.settings = settings
        self.drafts: dict[str, Draft] = {}  # connection id -> its draft
        self.allowances: dict[str, TokenBucket] = {}  # connection id -> the saves it may make
        self._keeper_started = False

    # --- saved experiments ---------------------------------------------------------------------------------------

    def save(self, hub, connection, title: str, note: str) -> dict:
        self.allow(connection, "save")
        blob = self._pack(hub, connection, title, note, payer=connection)
        key = self._claim(EXPERIMENT, blob, None)
        return {"id": key, "url": f"/e/{key}", "bytes": len(blob)}

    def allow(self, connection, field: str) -> None:
        """Take one of the connection's saves, or refuse (ConfigError on `field`) when it has made too many."""
        allowance = self.allowances.setdefault(
            connection.sid,
            TokenBucket(self.settings.saves_per_hour / 3600, self.settings.saves_burst, time.monotonic()),
        )
        if not allowance.take(time.monotonic()):
            raise ConfigError(
                {
                    field: f"is refused: at most {self.settings.saves_per_hour:g} saves an hour per client "
                    f"(bursts of {self.settings.saves_burst:g}); try again later"
                }
            )

    def save_runs(self, hub, payer, runs: list[tuple[str, Experiment]]) -> list[dict]:
        """Save every `(name, experiment)` of `runs` as an experiment, packed in one native trip (which also draws
        each run's frame, so its thumbnail, epoch and test loss are those of the state saved); returns their gallery
        entries. `payer` pays the trip (None: a teacher's action asked for on the bus). Nothing is stored unless
        every run can be."""
        packs = hub.trip_all(
            [(experiment, lambda session, name=name: saved.pack(session, name)) for name, experiment in runs],
            payer=payer,
        )
        for (name, _), blob in zip(runs, packs, strict=True):
            if isinstance(blob, Exception):
                raise ConfigError({"gallery": f"is refused: {name}'s run could not be saved ({blob})"})
            self._check_size(blob, "gallery", f"{name}'s run")
        entries = []
        for (name, experiment), blob in zip(runs, packs, strict=True):
            frame = experiment.newest
            assert frame is not None  # the trip above drew it
            loss = frame["testLoss"]
            entries.append(
                {
                    "id": self._claim(EXPERIMENT, blob, None),
                    "name": name,
                    "epoch": frame["epoch"],
                    "testLoss": loss if math.isfinite(loss) else None,  # a diverged run's; JSON has no NaN
                    "map": list(wire.output_thumbnail(frame)),
                }
            )
        return entries

    def save_gallery(self, entries: list[dict]) -> dict:
        """A gallery listing saved runs' entries (`save_runs`), in their order."""
        key = self._claim(GALLERY, {"runs": entries, "savedAt": time.time()}, None)
        return {"id": key, "url": f"/g/{key}", "runs": entries}

    def open(self, hub, connection, key) -> dict:
        """Open a saved experiment into the connection's experiment; returns its title and note."""
        blob = self.find(EXPERIMENT, key)
        if blob is None:
            raise ConfigError({"id": "names no saved experiment (a link is /e/ and 16 letters, digits, - or _)"})
        head = self._restore(hub, connection, blob)
        return {"title": head["title"], "note": head["note"]}

    def find(self, kind: str, key) -> bytes | None:
        found = self._get(kind, key)
        return found if isinstance(found, bytes) else None

    def find_gallery(self, key) -> dict | None:
        found = self._get(GALLERY, key)
        return found if isinstance(found, dict) else None

    def _get(self, kind: str, key):
        """The stored document of a well-formed id (anything else names none, unread)."""
        return self.store.get(kind, key) if isinstance(key, str) and ID_PATTERN.fullmatch(key) else None

    def _pack(self, hub, connection, title: str = "", note: str = "", payer=None) -> bytes:
        """The connection's experiment packed; a save is the client's event (`payer`), a draft the server's own."""
        blob = hub.trip(
            connection.experiment, lambda session: saved.pack(session, title, note), changes=False, payer=payer
        )
        self._check_size(blob, "save", "this experiment")
        return blob

    def _check_size(self, blob: bytes, field: str, what: str) -> None:
        if len(blob) > self.settings.max_experiment_bytes:
            raise ConfigError(
                {
                    field: f"is refused: {what} takes {len(blob):,} bytes, more than the "
                    f"{self.settings.max_experiment_bytes:,} a saved experiment may"
                }
            )

    def _claim(self, kind: str, document, expires_at: float | None) -> str:
        while True:
            key = secrets.token_urlsafe(ID_BYTES)
            if self.store.add(kind, key, document, expires_at):
                return key

    def _restore(self, hub, connection, blob: bytes) -> dict:
        """Put the saved session in place of the connection's (a trip: viewers get its data, state and frame)."""
        experiment = connection.experiment

        def take(session):
            try:
                restored, head = saved.unpack(blob)
            except saved.SavedError as problem:
                raise ConfigError({"id": f"names an experiment this server cannot open: {problem}"}) from None
            session.become(restored)
            experiment.focus = None
            return head

        return hub.trip(experiment, take, payer=connection)

    # --- drafts ----------------------------------------------------------------------------------------------------

    def resume(self, hub, connection, key) -> bool:
        """Give the connection its draft: the one named (restored if the store has it) or a new one. Returns whether
        a draft was restored."""
        blob = self.find(DRAFT, key)
        restored = False
        if blob is not None:
            try:
                self._restore(hub, connection, blob)
                restored = True
            except ConfigError:
                log.warning("a draft could not be opened; the connection gets a new one")
        if not restored:
            key = secrets.token_urlsafe(ID_BYTES)
        self.drafts[connection.sid] = Draft(key, epoch=connection.experiment.session.epoch, written_at=time.monotonic())
        self._start_keeper(hub)
        return restored

    def changed(self, connection) -> None:
        draft = self.drafts.get(connection.sid)
        if draft is not None:
            draft.dirty = True

    def closed(self, hub, connection) -> None:
        """The connection goes: its draft is written a last time (a reload finds it)."""
        draft = self.drafts.pop(connection.sid, None)
        self.allowances.pop(connection.sid, None)
        if draft is not None:
            self._write(hub, connection, draft)

    def _write(self, hub, connection, draft: Draft) -> None:
        draft.dirty = False
        # Read before the pack: training on meanwhile only makes the next check write again.
        draft.epoch, draft.written_at = connection.experiment.session.epoch, time.monotonic()
        try:
            blob = self._pack(hub, connection)
            self.store.put(DRAFT, draft.key, blob, time.time() + self.settings.draft_days * 86400)
        except (ConfigError, StoreError) as problem:
            log.warning("a draft was not kept: %s", problem)

    def _start_keeper(self, hub) -> None:
        if not self._keeper_started:
            self._keeper_started = True
            hub.socketio.start_background_task(self._keep_drafts, hub)

    def _keep_drafts(self, hub) -> None:
        """Write the drafts that changed, at most once every DRAFT_SECONDS each, and those of runs that trained on,
        every `draft_training_seconds`."""
        while True:
            hub.socketio.sleep(DRAFT_SECONDS)
            for sid, draft in list(self.drafts.items()):
                connection = hub.connections.get(sid)
                if connection is not None and (draft.dirty or self._trained_on(connection, draft)):
                    self._write(hub, connection, draft)

    def _trained_on(self, connection, draft: Draft) -> bool:
        """Whether the run's epoch moved since its draft was written, `draft_training_seconds` ago or more."""
        waited = time.monotonic() - draft.written_at >= self.settings.draft_training_seconds
        return waited and connection.experiment.session.epoch != draft.epoch
