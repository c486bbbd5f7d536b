"""Your own data: checking points, reading and writing CSV (x, y, label).

Limits, stated once here and in docs/protocol.md: at most MAX_POINTS points and MAX_CSV_BYTES bytes per upload;
coordinates within ±COORDINATE_LIMIT (the plane the maps show); classification labels ±1 (0/1 are read as -1/+1);
regression labels within ±REGRESSION_LABEL_LIMIT.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from .options import ConfigError
from .options import is_finite_number as _number

MAX_POINTS = 5000
MAX_CSV_BYTES = 512_000
COORDINATE_LIMIT = 6.0
REGRESSION_LABEL_LIMIT = 1.5


def check_point(x, y, label, problem: str) -> tuple[float, float, float]:
    """One point from the browser; raises ConfigError naming the bad field."""
    errors = {}
    for name, value in (("x", x), ("y", y)):
        if not _number(value) or abs(value) > COORDINATE_LIMIT:
            errors[name] = f"must be a number from {-COORDINATE_LIMIT:g} to {COORDINATE_LIMIT:g}"
    label_error = _label_problem(label, problem)
    if label_error:
        errors["label"] = label_error
    if errors:
        raise ConfigError(errors)
    return float(x), float(y), _label_value(label, problem)


def _label_problem(label, problem: str) -> str | None:
    if problem == "classification":
        return None if _number(label) and label in (-1, 0, 1) else "must be -1 or 1 (0 is read as -1)"
    if not _number(label) or abs(label) > REGRESSION_LABEL_LIMIT:
        return f"must be a number from {-REGRESSION_LABEL_LIMIT:g} to {REGRESSION_LABEL_LIMIT:g}"
    return None


def _label_value(label, problem: str) -> float:
    return (1.0 if label == 1 else -1.0) if problem == "classification" else float(label)


def parse_csv(text, problem: str) -> tuple[list[tuple[float, float, float]], list[str] | None]:
    """CSV with columns x, y, label and optionally set ("train" or "test"); a first line `x,y,label[,set]` is a header
    and is skipped, any other line that does not parse is an error.

    Returns the points and, when every line names its set, the sets (else None: the caller splits by the ratio).
    Raises ConfigError({"csv": "line N: ..."}) at the first bad line.
    """

    def fail(message):
        raise ConfigError({"csv": message})

    if not isinstance(text, str):
        fail("must be the file's text")
    if len(text.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        fail(f"is larger than {MAX_CSV_BYTES // 1000} KB")
    points, sets = [], []
    rows = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # e.g. one field longer than csv allows
            fail(f"line {rows.line_num}: {error}")
        number = rows.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if not points and not sets and _is_header(row):
            continue  # the optional header, before the first point
        if len(row) < 3:
            fail(f"line {number}: expected 3 values (x, y, label), found {len(row)}")
        try:
            x, y, label = (float(cell) for cell in row[:3])
        except ValueError:
            fail(f"line {number}: x, y and label must be numbers")
        try:
            points.append(check_point(x, y, label, problem))
        except ConfigError as error:
            field, message = next(iter(error.errors.items()))
            fail(f"line {number}: {field} {message}")
        subset = row[3].strip() if len(row) > 3 else ""
        if subset not in ("", "train", "test"):
            fail(f"line {number}: set must be train or test, got {subset[:20]!r}")
        sets.append(subset)
        if len(points) > MAX_POINTS:
            fail(f"has more than {MAX_POINTS} points")
    if not points:
        fail("has no points")
    return points, sets if all(sets) else None


HEADER = ("x", "y", "label", "set")


def _is_header(row: list[str]) -> bool:
    """`x,y,label` or `x,y,label,set` (any case, spaces around names allowed): what to_csv writes first."""
    names = tuple(cell.strip().lower() for cell in row)
    return names in (HEADER[:3], HEADER)


def to_csv(train_points: np.ndarray, train_labels: np.ndarray, test_points: np.ndarray, test_labels: np.ndarray) -> str:
    """The data as CSV: x, y, label, and which set the point is in."""
    out = io.StringIO()
    out.write("x,y,label,set\n")
    for points, labels, name in ((train_points, train_labels, "train"), (test_points, test_labels, "test")):
        for (x, y), label in zip(points.tolist(), labels.tolist(), strict=True):
            out.write(f"{x!r},{y!r},{label!r},{name}\n")
    return out.getvalue()
