"""The classroom's rules: join codes, keys, display names, locks, the challenge, the leaderboard and the class view.

A teacher opens a room (a class) with a short join code and keeps a teacher key; learners join with the code and a
display name and keep a member key, so that a reload or a server restart puts them back. Only the keys' hashes are
kept. The room's documents live in the store (playground/store.py) under the kinds below; the web layer
(playground/web/classroom.py) reads and writes them and calls these rules. Pure Python: time and randomness are
passed in or drawn from `secrets`, nothing blocks, no web code.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .options import OPTIONS, OPTIONS_BY_NAME, ConfigError, field_label, validate_changes

# Easy to read aloud and to type: no 0/O, 1/I/L (and no lower case at all: codes are read case-blind).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6  # 31^6, about 890 million codes: with the join limits below, guessing one takes years
MAX_NAME_LENGTH = 24
ROOM, MEMBER, NAME, REACHED = "room", "member", "name", "reached"  # the store's kinds
LOCKABLE = tuple(option.name for option in OPTIONS if option.effect != "view")
# Join attempts: each connection may try this many codes a minute (in bursts of JOIN_BURST), and one address (a
# school behind one NAT) may get this many codes wrong a minute, so a whole class can join at once.
JOINS_PER_MINUTE, JOIN_BURST = 10.0, 5.0
WRONG_CODES_PER_MINUTE_PER_ADDRESS = 30.0
# A run is stuck when, over its last STUCK_SECONDS of training and at least STUCK_EPOCHS epochs, its test loss moved
# by less than STUCK_CHANGE (relative) while staying above STUCK_LOSS (the default circle starts near 0.5).
STUCK_SECONDS, STUCK_EPOCHS, STUCK_CHANGE, STUCK_LOSS = 3.0, 100, 0.01, 0.2
SUMMARY_SETTINGS = ("learningRate", "activation", "networkShape", "batchSize", "optimizer")


class RoomError(Exception):
    """A refused classroom action: `field` names what was wrong, the message says what is allowed."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.fields = {field: message}


# --- codes, keys, names -----------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def read_code(text) -> str:
    """A code as a learner typed it (any case, spaces or dashes between) -> the code, or RoomError (`code`)."""
    if not isinstance(text, str) or len(text) > 40:
        raise RoomError("code", f"must be the class's {CODE_LENGTH}-character join code")
    code = "".join(char for char in text.upper() if char not in " -")
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        raise RoomError("code", f"must be {CODE_LENGTH} letters and digits of the join code (no 0, O, 1, I or L)")
    return code


def new_key() -> str:
    return secrets.token_urlsafe(24)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()  # any string a client sends


def key_matches(key, stored_hash: str) -> bool:
    return isinstance(key, str) and len(key) <= 100 and hmac.compare_digest(key_hash(key), stored_hash)


def read_name(text) -> str:
    """A display name -> the name as shown (spaces collapsed), or RoomError (`name`): 1 to 24 characters, letters,
    digits, spaces and simple punctuation."""
    if not isinstance(text, str):
        raise RoomError("name", f"must be a display name of 1 to {MAX_NAME_LENGTH} characters")
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise RoomError("name", f"must be 1 to {MAX_NAME_LENGTH} characters, got {len(name)}")
    if any(unicodedata.category(char)[0] not in "LNPZ" or char in "<>&\"'`" for char in name):
        raise RoomError("name", "may hold letters, digits, spaces and punctuation other than < > & \" ' `")
    return name


def name_slot(code: str, name: str) -> str:
    """The store key that claims a name in a room: names differ in more than case."""
    return f"{code}:{name.casefold()}"


def suggest_name(name: str, taken) -> str:
    """A free name like the one asked for: "Ada 2", "Ada 3", ...; `taken(candidate)` says whether one is taken."""
    for number in range(2, 1000):
        suffix = f" {number}"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
        if not taken(candidate):
            return candidate
    return name[: MAX_NAME_LENGTH - 7] + f" {secrets.randbelow(900_000) + 100_000}"


def new_room(code: str, teacher_key: str, now: float, hours: float) -> dict:
    """The room's document (kind ROOM, key `code`)."""
    return {
        "code": code,
        "teacherKeyHash": key_hash(teacher_key),
        "createdAt": now,
        "expiresAt": now + hours * 3600,
        "config": None,  # the config the teacher pushed last (options as JSON)
        "fixSeed": False,
        "locks": [],
        "paused": False,
        "challenge": None,
        "spotlight": None,  # a member id
    }


def new_member(member_id: str, name: str, member_key: str, now: float) -> dict:
    """A member's document (kind MEMBER, key `<code>:<member id>`)."""
    return {"member": member_id, "name": name, "keyHash": key_hash(member_key), "joinedAt": now}


@dataclass(frozen=True)
class ClassRules:
    """What a learner's own events must respect while in a class."""

    locks: tuple[str, ...]
    paused: bool


# --- locks --------------------------------------------------------------------------------------------------------


def read_locks(names) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise RoomError("locks", "must be a list of option names")
    wrong = [name for name in names if name not in LOCKABLE]
    if wrong:
        allowed = ", ".join(LOCKABLE)
        raise RoomError("locks", f"{field_label(wrong[0])!r} is not an option that can be locked (one of {allowed})")
    return sorted(set(names), key=LOCKABLE.index)


def changed_names(current: dict, proposed: dict) -> list[str]:
    return [name for name, value in proposed.items() if current.get(name) != value]


def refuse_locked(locks: Iterable[str], changed: Iterable[str]) -> None:
    """Raise ConfigError naming the first locked option among `changed`."""
    locked = [name for name in changed if name in set(locks)]
    if locked:
        label = OPTIONS_BY_NAME[locked[0]].label
        raise ConfigError(
            {name: f"is locked by the teacher ({label}): only the teacher can change it now" for name in locked}
        )


def pushed_changes(config: dict, fix_seed: bool) -> dict:
    """What a pushed config changes in a learner's run: every option, and the seed only if the teacher fixed it."""
    clean = validate_changes(config)
    if not fix_seed:
        clean.pop("seed", None)
    return clean


# --- the challenge ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    dataset: str
    max_hidden_neurons: int | None  # None: any network
    below_test_loss: float | None  # one of the two targets
    above_test_accuracy: float | None

    @classmethod
    def read(cls, payload) -> Challenge:
        if not isinstance(payload, dict):
            raise RoomError("challenge", "must be an object with dataset, maxHiddenNeurons and a target")
        extra = sorted(set(payload) - {"dataset", "maxHiddenNeurons", "belowTestLoss", "aboveTestAccuracy"})
        if extra:
            raise RoomError(field_label(extra[0]), "is not a field of a challenge")
        datasets = OPTIONS_BY_NAME["dataset"].choices
        if payload.get("dataset") not in datasets:
            raise RoomError("dataset", f"must be one of {', '.join(datasets)}")
        neurons = payload.get("maxHiddenNeurons")
        whole = isinstance(neurons, int) and not isinstance(neurons, bool)
        if neurons is not None and not (whole and 0 < neurons <= 48):
            raise RoomError("maxHiddenNeurons", "must be null (any network) or a whole number from 1 to 48")
        loss, accuracy = payload.get("belowTestLoss"), payload.get("aboveTestAccuracy")
        if (loss is None) == (accuracy is None):
            raise RoomError("belowTestLoss", "give exactly one target: belowTestLoss or aboveTestAccuracy")
        if loss is not None and not (_number(loss) and 0 < loss <= 1):
            raise RoomError("belowTestLoss", "must be a number above 0 and at most 1")
        if accuracy is not None and not (_number(accuracy) and 0 <= accuracy < 1):
            raise RoomError("aboveTestAccuracy", "must be a share from 0 to 1 (excluded), e.g. 0.95")
        return cls(payload["dataset"], neurons, loss, accuracy)

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "maxHiddenNeurons": self.max_hidden_neurons,
            "belowTestLoss": self.below_test_loss,
            "aboveTestAccuracy": self.above_test_accuracy,
        }

    def reached(self, run: Run) -> bool:
        """On the server's own data: the challenge's dataset, generated (not the learner's points), the network
        within the limit, and the test loss or accuracy past the target."""
        if run.dataset != self.dataset or run.own_data or run.problem != "classification":
            return False
        if self.max_hidden_neurons is not None and run.hidden_neurons > self.max_hidden_neurons:
            return False
        if self.below_test_loss is not None:
            return run.test_loss is not None and run.test_loss < self.below_test_loss
        return run.test_accuracy is not None and run.test_accuracy > (self.above_test_accuracy or 0)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Run:
    """What the class view knows of one learner's run, from its newest frame and config."""

    member: str
    epoch: int
    status: str  # running | stopped | diverged | finished (a stop rule ended it)
    test_loss: float | None
    test_accuracy: float | None
    hidden_neurons: int
    dataset: str
    problem: str
    own_data: bool
    settings: dict  # the SUMMARY_SETTINGS' values


def leaderboard_entry(run: Run, name: str, now: float) -> dict:
    return {"member": run.member, "name": name, "epochs": run.epoch, "hiddenNeurons": run.hidden_neurons, "at": now}


def better_entry(new: dict, old: dict | None) -> bool:
    """Fewer epochs first, then a smaller network."""
    return old is None or (new["epochs"], new["hiddenNeurons"]) < (old["epochs"], old["hiddenNeurons"])


def leaderboard(entries: Iterable[dict]) -> list[dict]:
    return sorted(entries, key=lambda entry: (entry["epochs"], entry["hiddenNeurons"], entry["at"]))


# --- the class view -----------------------------------------------------------------------------------------------


def stuck(history: Sequence[tuple[float, int, float | None]]) -> bool:
    """`history`: (time, epoch, test loss) samples of one run, oldest first. Stuck: the loss stayed flat and high
    over the last STUCK_SECONDS and STUCK_EPOCHS."""
    if not history:
        return False
    now, epoch, loss = history[-1]
    window = [sample for sample in history if now - sample[0] <= STUCK_SECONDS]
    if now - history[0][0] < STUCK_SECONDS or loss is None or loss <= STUCK_LOSS:
        return False
    first_epoch = min(sample[1] for sample in window)
    losses = [sample[2] for sample in window if sample[2] is not None]
    if epoch - first_epoch < STUCK_EPOCHS or len(losses) < len(window):  # a diverged moment is not flat
        return False
    return max(losses) - min(losses) <= STUCK_CHANGE * loss


def class_summary(runs: list[Run], stuck_members: set[str]) -> dict:
    """One line each: how many diverged, how many are stuck, the spread of test loss, the settings tried most."""
    losses = sorted(run.test_loss for run in runs if run.test_loss is not None)
    spread = None
    if losses:
        spread = {
            "min": losses[0],
            "median": losses[len(losses) // 2],
            "max": losses[-1],
        }
    tried = {}
    for setting in SUMMARY_SETTINGS:
        counts = Counter(_shown(run.settings.get(setting)) for run in runs)
        if counts:
            value, count = counts.most_common(1)[0]
            tried[setting] = {"value": value, "runs": count}
    return {
        "runs": len(runs),
        "diverged": sum(run.status == "diverged" for run in runs),
        "stuck": len(stuck_members & {run.member for run in runs}),
        "testLoss": spread,
        "triedMost": tried,
    }


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value)) or "no hidden layer"
    return str(value)
