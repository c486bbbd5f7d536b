"""One learner's experiment: config, data, network, training progress. Pure Python + PyTorch, no web code.

A session is driven by one caller at a time (the web layer serialises access); nothing here blocks or sleeps, so
`train_for`, `train_group` and `render_frames` can run in a native thread while the event loop keeps serving.
Sessions with equal `signature`s train together as one stack of tensors whatever their networks (`train_group`), and
those with equal `frame_signature`s draw together (`render_frames`); a session alone is a group of one.

What changes do follows TensorFlow Playground (see options.py `effect`): a new dataset, noise, ratio or problem draws
a new seed from the session's random stream and regenerates the data, then resets; a new seed in the config is used
as given; `reset` draws new weights from the continuing stream; `regenerate` draws new data but keeps training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch

from . import custom_data, datasets, features, frames, history
from .network import OPTIMIZERS, Evaluation, Kind, PlaygroundNet, Trainer, TrainerGroup
from .options import (
    OPTIONS,
    OPTIONS_BY_NAME,
    ConfigError,
    config_to_json,
    default_config,
    hidden_controls,
    is_finite_number,
    is_whole_number,
    read_link,
    to_url_hash,
    training_rule,
    validate_changes,
)
from .rng import SeedRandom, new_seed, random_seed

RUNNING, STOPPED, DIVERGED = "running", "stopped", "diverged"
EXPORT_FORMAT = "nn-playground/1"


class TrainingSession:
    def __init__(self, changes: dict | None = None, url_extras: dict[str, str] | None = None):
        self.config = default_config(random_seed())
        self.config.update(validate_changes(changes or {}))
        self.status = STOPPED
        self.stop_reason: str | None = None  # why training last stopped by itself (a stop rule)
        # Keys of the link that TF Playground writes but that are no option here (cosX, tutorial, x_hide, ...), as
        # it writes them; a `<feature>_hide=true` removes that input from the network, as in the original.
        self.url_extras: dict[str, str] = dict(url_extras or {})
        self._seed_data(self.config["seed"])
        self._build_network()

    # --- what changes do --------------------------------------------------------------------------------------

    def update_config(self, changes: dict) -> dict:
        """Validate and apply a partial config; returns the effects applied. Raises ConfigError, changing nothing."""
        return self._apply(validate_changes(changes))

    def open_link(self, url_hash) -> dict:
        """Open a TF Playground link (its hash) as the original reads it, as one change: options it leaves out take
        their defaults, a seed it names gives exactly the original's data and initial weights, and values this
        server cannot use are clamped or replaced (`notices` says which). Raises ConfigError only for a hash that is
        not a string of at most 4,000 characters."""
        link = read_link(url_hash)
        result = self._apply(link_changes(link), link.extras, reseed="seed" in link.config)
        return {**result, "notices": link.notices, "hidden": link.hidden}

    def _apply(self, clean: dict, url_extras: dict | None = None, reseed: bool = False) -> dict:
        """Apply clean changes with their effects (options.py `effect`). With `reseed` (a link that names its seed)
        any new data or network starts from that seed, as when TF Playground opens the link."""
        changed = {name: value for name, value in clean.items() if self.config.get(name) != value}
        self.config.update(changed)
        effects = {OPTIONS_BY_NAME[name].effect for name in changed}
        if url_extras is not None:
            hidden_before = hidden_controls(self.url_extras)
            self.url_extras = dict(url_extras)
            if hidden_controls(self.url_extras) != hidden_before:
                effects.add("reset")  # a hidden input leaves the network
        if "stopBelowTestLoss" in changed:
            self._stopped_below = None  # a new threshold is a new rule
        # A change that names its seed regenerates from it even when it is the seed already (a teacher's pushed
        # config with the seed fixed: every learner gets the teacher's data, whatever their seed was).
        if (
            "seed" in changed
            or (reseed and effects & {"regenerate", "reset"})
            or ("seed" in clean and "regenerate" in effects)
        ):
            self._seed_data(self.config["seed"])
            effects.add("regenerate")
        elif "regenerate" in effects:
            self._seed_data(new_seed(self.rng))
            if "problem" in changed:
                datasets.draw_problem_thumbnails(self.rng, self.config["problem"])
        if effects & {"regenerate", "reset"}:
            self._build_network()
        return {
            "changed": sorted(changed),
            "regenerated": "regenerate" in effects,
            "reset": bool(effects & {"regenerate", "reset"}),
        }

    def url_hash(self) -> str:
        """The session's link, as TF Playground writes it (with the keys it writes but never uses)."""
        return to_url_hash(self.config, self.url_extras)

    def reset(self, same_weights: bool = False) -> None:
        """Epoch 0, same data, stopped. New weights from the continuing random stream (TF Playground's reset), or
        with `same_weights` the initial weights of this network again, to rerun the same experiment."""
        self._build_network(self.initial_parameters if same_weights else None)

    def restart_from_seed(self, seed: str, data: datasets.DataSplit | None = None) -> None:
        """Epoch 0, stopped, with initial weights drawn from `seed`'s own random stream, on `data` (default: the data
        it has). A many-seed run's member on the same data is exactly this (playground/seeds.py)."""
        if data is not None:
            self.data = data
        self._build_network(random=SeedRandom(seed).random)

    def take_over(self, other: TrainingSession) -> None:
        """Become `other` exactly (config, data, network, optimizer state, carry, epoch, stop rules): a many-seed
        run's member made the main run. `other` must not be used afterwards, since both share its tensors."""
        self.__dict__.update(other.__dict__)

    def regenerate(self) -> None:
        """New data from a new seed; the network and the epoch counter carry on (TF Playground's regenerate)."""
        self._seed_data(new_seed(self.rng))
        self._attach_data()
        self._evaluate()

    # --- your own data ---------------------------------------------------------------------------------------

    def _replace_data(self, data: datasets.DataSplit) -> None:
        """Train on these points from now on; the network and the epoch carry on, as after regenerate."""
        self.data = data
        self.own_data = True  # not the generated data any more (a class's challenge counts generated data only)
        self._attach_data()
        self._evaluate()

    def _point_count(self) -> int:
        return len(self.data.train_labels) + len(self.data.test_labels)

    def add_point(self, x, y, label, subset: str = "train") -> None:
        """Add one point (a class ±1, or a value in regression) to the training or the test set."""
        point = custom_data.check_point(x, y, label, self.config["problem"])
        if subset not in ("train", "test"):
            raise ConfigError({"set": "must be train or test"})
        if self._point_count() >= custom_data.MAX_POINTS:
            raise ConfigError({"points": f"cannot exceed {custom_data.MAX_POINTS}"})
        data = self.data
        row, label_array = np.array([point[:2]]), np.array([point[2]])
        if subset == "train":
            data = datasets.DataSplit(
                np.concatenate([data.train_points, row]),
                np.concatenate([data.train_labels, label_array]),
                data.test_points,
                data.test_labels,
            )
        else:
            data = datasets.DataSplit(
                data.train_points,
                data.train_labels,
                np.concatenate([data.test_points, row]),
                np.concatenate([data.test_labels, label_array]),
            )
        self._replace_data(data)

    def erase_points(self, x, y, radius) -> int:
        """Remove the points within `radius` of (x, y) from both sets; returns how many went."""
        if not all(is_finite_number(v) for v in (x, y, radius)) or not 0 < radius <= 12:
            raise ConfigError({"radius": "x and y must be numbers and radius a number from 0 (excluded) to 12"})
        data = self.data
        centre = np.array([x, y], dtype=np.float64)
        keep_train = np.hypot(*(data.train_points - centre).T) > radius
        keep_test = np.hypot(*(data.test_points - centre).T) > radius
        removed = int((~keep_train).sum() + (~keep_test).sum())
        if removed:
            self._replace_data(
                datasets.DataSplit(
                    data.train_points[keep_train],
                    data.train_labels[keep_train],
                    data.test_points[keep_test],
                    data.test_labels[keep_test],
                )
            )
        return removed

    def load_csv(self, text) -> None:
        """Replace the data with a CSV file's; a bad file raises ConfigError naming the line, keeping the data.
        Lines that name their set keep it; otherwise the points are shuffled and split by the ratio."""
        points, sets = custom_data.parse_csv(text, self.config["problem"])
        if sets is None:
            datasets.shuffle(self.rng, points)
            split = math.floor(len(points) * self.config["percTrainData"] / 100)
            sets = ["train"] * split + ["test"] * (len(points) - split)
        table = np.array(points, dtype=np.float64).reshape(-1, 3)
        train = np.array([subset == "train" for subset in sets])
        self._replace_data(
            datasets.DataSplit(
                table[train, :2].copy(), table[train, 2].copy(), table[~train, :2].copy(), table[~train, 2].copy()
            )
        )

    def data_csv(self) -> str:
        data = self.data
        return custom_data.to_csv(data.train_points, data.train_labels, data.test_points, data.test_labels)

    # --- generated data ----------------------------------------------------------------------------------------

    def _seed_data(self, seed: str) -> None:
        self.config["seed"] = seed
        self.own_data = False
        self.rng = SeedRandom(seed)
        problem = self.config["problem"]
        name = self.config["dataset" if problem == "classification" else "regDataset"]
        self.data = datasets.generate_split(
            self.rng, name, datasets.NUM_SAMPLES[problem], self.config["noise"], self.config["percTrainData"]
        )

    @property
    def loss_name(self) -> str:
        """The loss in use: cross-entropy is for classification only; regression always uses the squared loss."""
        return training_rule(self.config)[1]

    def _build_network(self, parameters: tuple | None = None, random=None) -> None:
        """A new network with `parameters`, or with initial weights drawn from `random` (default: the session's
        continuing stream)."""
        self.feature_names = features.active_features(self.config, self.url_extras)
        output, loss = training_rule(self.config)
        sizes = [len(self.feature_names), *self.config["networkShape"], 1]
        self.net = PlaygroundNet(sizes, self.config["activation"], output)
        if parameters is None:
            self.net.init_parameters(random or self.rng.random, zero=self.config["initZero"])
            self.initial_parameters = self.net.get_parameters()
        else:
            self.net.set_parameters(*parameters)
        self.trainer = Trainer(self.net, self.config["regularization"], self.config["optimizer"], loss)
        self._attach_data()
        self.epoch = 0
        self.status = STOPPED  # TF Playground's reset() pauses the player
        self.stop_reason = None
        self._started_at_epoch = 0  # stop rules: see start()
        self._stopped_below: float | None = None
        self._evaluate()
        self.history = history.History(self.checkpoint())

    @property
    def grid_inputs(self) -> torch.Tensor:
        """The frames' grid through this session's input features (shared, see `frames.grid_inputs`)."""
        return frames.grid_inputs(tuple(self.feature_names))

    def inputs_for(self, points) -> torch.Tensor:
        return features.feature_matrix(torch.as_tensor(points, dtype=torch.float64), self.feature_names)

    def _attach_data(self) -> None:
        data = self.data
        self.trainer.set_data(
            self.inputs_for(data.train_points),
            torch.as_tensor(data.train_labels),
            self.inputs_for(data.test_points),
            torch.as_tensor(data.test_labels),
            self.config["batchSize"],
        )

    # --- training ---------------------------------------------------------------------------------------------

    @property
    def signature(self) -> Kind:
        """Sessions with equal signatures train together, whatever their networks (the trainer's kind: loss,
        optimizer and regularization kinds, batch size, point counts)."""
        return self.trainer.kind

    @property
    def frame_signature(self) -> tuple:
        """Sessions with equal frame signatures draw together: of one signature (a group's members are of one
        kind), the network's shape and activations, and the input features that the frames' grid goes through."""
        return self.signature, self.trainer.shape, tuple(self.feature_names)

    def _evaluate(self, evaluation: Evaluation | None = None) -> None:
        """Losses and accuracy now (or as the group just computed them); the status says "diverged" exactly while
        a loss is not finite."""
        evaluation = evaluation or self.trainer.evaluate()
        self.train_loss, self.test_loss, self.train_accuracy, self.test_accuracy = evaluation
        data = self.data
        finite = all(
            math.isfinite(loss)
            for loss, points in ((self.train_loss, data.train_labels), (self.test_loss, data.test_labels))
            if len(points)
        )
        if not finite:
            self.status = DIVERGED
        elif self.status == DIVERGED:
            self.status = STOPPED

    def step(self) -> bool:
        """Train exactly one epoch. Returns False (and sets DIVERGED) when the loss stops being finite. Raises
        ConfigError (field `status`) if the network had diverged: an epoch of NaNs changes nothing and costs as
        much as any other (a script stepping a diverged network took the training thread for nothing)."""
        self._refuse_if_diverged()
        _train_together([self], 0.0, [1])
        return self.status != DIVERGED

    def start(self) -> None:
        """Play. Re-arms the stop rules: "after N epochs" next holds at the next multiple of N (50, 100, 150...),
        "below test loss L" not again until L changes or the network is reset. Raises ConfigError (field
        `status`) if the network diverged."""
        self._refuse_if_diverged()
        self.status = RUNNING
        self.stop_reason = None
        self._started_at_epoch = self.epoch

    def _refuse_if_diverged(self) -> None:
        if self.status == DIVERGED:
            raise ConfigError(
                {"status": "the network diverged (its loss is not finite): reset it or change the config"}
            )

    def stop(self) -> None:
        """Pause (a diverged network stays diverged)."""
        if self.status == RUNNING:
            self.status = STOPPED

    def stop_rule_reached(self) -> str | None:
        """Which optional stop rule holds, in words: after N epochs, or once the test loss is below a value (0 turns
        each off); see start() for when each holds again."""
        after, below = self.config["stopAfterEpochs"], self.config["stopBelowTestLoss"]
        if after and self.epoch > self._started_at_epoch and self.epoch % after == 0:
            return f"stopped after {after} epochs"
        if below and self.test_loss < below and below != self._stopped_below:
            self._stopped_below = below
            return f"stopped when the test loss fell below {below:g}"
        return None

    def train_for(self, seconds: float, max_epochs: int | None = None) -> int:
        """Train whole epochs until `seconds` have passed (at least one epoch), `max_epochs` ran, the loss
        diverged or a stop rule holds (then the status is STOPPED); returns how many epochs ran."""
        return _train_together([self], seconds, [max_epochs])[0]

    def set_parameter(self, layer: int, node: int, source: int | None, value: float) -> None:
        """Edit one weight (source = index in the previous layer) or, with source None, one bias.
        Raises ConfigError naming the bad field, changing nothing."""
        blocks = self.net.augmented
        if not is_whole_number(layer, 0, len(blocks) - 1):
            raise ConfigError({"layer": f"must be a whole number from 0 to {len(blocks) - 1}"})
        rows, cols = blocks[int(layer)].shape
        if not is_whole_number(node, 0, rows - 1):
            raise ConfigError({"node": f"must be a whole number from 0 to {rows - 1} in layer {layer}"})
        if source is not None and not is_whole_number(source, 0, cols - 2):
            raise ConfigError({"source": f"must be null (the bias) or a whole number from 0 to {cols - 2}"})
        if not is_finite_number(value):
            raise ConfigError({"value": "must be a finite number"})
        with torch.no_grad():
            blocks[int(layer)][int(node), cols - 1 if source is None else int(source)] = float(value)
        self._evaluate()

    # --- time travel (playground/history.py) -----------------------------------------------------------------------

    def rule(self) -> dict:
        """The options a branch may change, as they are now."""
        return {name: self.config[name] for name in history.BRANCH_OPTIONS}

    def checkpoint(self) -> history.Checkpoint:
        """The whole training state now, as a checkpoint."""
        evaluation = Evaluation(self.train_loss, self.test_loss, self.train_accuracy, self.test_accuracy)
        return history.capture_trainer(self.trainer, self.epoch, evaluation, self.rule(), self.data)

    def at_epoch(self, epoch) -> TrainingSession:
        """A stopped copy of this session at its checkpoint nearest `epoch` (on the current branch), to draw; the
        live run is not touched. Raises ConfigError (field `epoch`) for anything but a whole number."""
        if not is_whole_number(epoch, 0, math.inf):
            raise ConfigError({"epoch": "must be a whole number from 0 (a checkpoint's epoch)"})
        checkpoint = self.history.nearest(int(epoch))
        view = object.__new__(TrainingSession)
        view.__dict__.update(self.__dict__)
        view.net = PlaygroundNet(self.net.layer_sizes, self.config["activation"], self.net.activation_names[-1])
        view.trainer = Trainer(view.net, checkpoint.rule["regularization"], self.trainer.optimizer, self.trainer.loss)
        history.restore(checkpoint, view.trainer)
        view.data, view.epoch, view.status, view.stop_reason = checkpoint.data, checkpoint.epoch, STOPPED, None
        view.train_loss, view.test_loss, view.train_accuracy, view.test_accuracy = checkpoint.evaluation
        return view

    def fork(self, epoch, changes) -> history.Branch:
        """Continue from a checkpoint: the run goes back to it (weights, training state, data, epoch and the rates it
        trained with), then takes `changes` (some of history.BRANCH_OPTIONS) and trains on as a new branch, labelled
        with what changed. `epoch` is a checkpoint's epoch on the current branch, or the current epoch. Raises
        ConfigError naming the bad field, changing nothing."""
        if not isinstance(changes, dict):
            raise ConfigError({"changes": f"must be an object of some of {', '.join(history.BRANCH_OPTIONS)}"})
        allowed = ", ".join(history.BRANCH_OPTIONS)
        for name in changes:
            if name not in history.BRANCH_OPTIONS:
                raise ConfigError({str(name)[:40]: f"cannot change in a branch; a branch may change {allowed}"})
        clean = validate_changes(changes)
        kept = self.history.checkpoints()
        if epoch == self.epoch and is_whole_number(epoch, 0, math.inf):
            checkpoint = kept.get(self.epoch) or self.checkpoint()
        elif is_whole_number(epoch, 0, math.inf) and int(epoch) in kept:
            checkpoint = kept[int(epoch)]
        else:
            raise ConfigError({"epoch": f"must be the current epoch ({self.epoch}) or a checkpoint's (get_history)"})
        rule = {**checkpoint.rule, **clean}
        try:
            branch = self.history.fork(checkpoint, history.describe_changes(checkpoint.rule, rule, checkpoint.epoch))
        except ValueError as problem:
            raise ConfigError({"epoch": f"cannot start a branch: {problem}"}) from None
        self.config.update(rule)
        self.trainer.regularization = rule["regularization"]
        if checkpoint.data is not self.data:
            self.data = checkpoint.data
            self._attach_data()
        history.restore(checkpoint, self.trainer)
        self.epoch = self._started_at_epoch = checkpoint.epoch
        self.stop_reason = None
        self._evaluate()
        return branch

    def become(self, other: TrainingSession) -> None:
        """Take another session's whole state (an opened saved experiment) in place, so that whoever holds this
        session (an experiment, its viewers) now holds that one."""
        self.__dict__.update(other.__dict__)

    # --- what the outside sees ----------------------------------------------------------------------------------

    def frame(self, focus: int | None = None) -> frames.Frame:
        return render_frames([self], [focus])[0]

    def export_json(self) -> dict:
        """The trained network and what it takes to rebuild it and go on training exactly, as plain JSON (non-finite
        numbers, which only a diverged network has, are written as null)."""
        weights, biases = self.net.get_parameters()
        initial_weights, initial_biases = self.initial_parameters
        trainer = self.trainer

        def blocks(flat):
            return [_json_numbers(block.tolist()) for block in self.net.split(flat)]

        return {
            "format": EXPORT_FORMAT,
            "config": config_to_json(self.config),
            "link": self.url_hash(),
            "epoch": self.epoch,
            "features": self.feature_names,
            "layerSizes": self.net.layer_sizes,
            "weights": _json_numbers(weights),
            "biases": _json_numbers(biases),
            "dead": trainer.dead_links(),
            "initialWeights": initial_weights,
            "initialBiases": initial_biases,
            "training": {
                "carried": trainer.carried,
                "accumulated": blocks(trainer.accumulated),
                "steps": trainer.steps,
                "optimizerState": {name: blocks(state) for name, state in trainer.optimizer_state.items()},
            },
        }

    def import_json(self, exported: dict) -> None:
        """Load a network exported by `export_json`: its config (same data from its seed), its parameters and its
        training state. A bad field raises ValueError naming it, and the session stays as it was."""
        if not isinstance(exported, dict) or exported.get("format") != EXPORT_FORMAT:
            raise ValueError(f"format must be {EXPORT_FORMAT!r}")
        config = validate_changes(exported.get("config"))
        link = exported.get("link", "")
        if not isinstance(link, str):
            raise ValueError("link must be the exported session's URL hash (text)")
        # The link's inert and `_hide` keys: a hidden input is not in the network whose weights follow.
        candidate = TrainingSession(config, read_link(link).extras)
        if "initialWeights" in exported:
            candidate.net.set_parameters(exported["initialWeights"], exported.get("initialBiases"))
            candidate.initial_parameters = candidate.net.get_parameters()
        weights, biases = _nan_for_null(exported.get("weights")), _nan_for_null(exported.get("biases"))
        candidate.net.set_parameters(weights, biases)
        if exported.get("dead") is not None:
            candidate.trainer.set_dead_links(exported["dead"])
        if exported.get("training") is not None:
            _import_training(candidate, exported["training"])
        epoch = exported.get("epoch", 0)
        candidate.epoch = int(epoch) if is_whole_number(epoch, 0, 2**53) else 0  # beyond: a float, not a count
        candidate._evaluate()
        candidate.history = history.History(candidate.checkpoint())
        trainer = candidate.trainer
        state = [candidate.net.flat, trainer.accumulated, *trainer.optimizer_state.values()]
        if candidate.status != DIVERGED and not all(torch.isfinite(tensor).all() for tensor in state):
            raise ValueError("network: null (a non-finite number) is allowed only in a diverged network")
        self.become(candidate)


def link_changes(link) -> dict:
    """The options a link (`options.read_link`) sets: those it names, the defaults for the others, and its seed
    only if it names one."""
    changes = {option.name: link.config.get(option.name, option.default) for option in OPTIONS if option.name != "seed"}
    if "seed" in link.config:
        changes["seed"] = link.config["seed"]
    return changes


def _json_numbers(values):
    """Nested lists of floats with the non-finite ones as None (JSON has no NaN or Infinity)."""
    if isinstance(values, list):
        return [_json_numbers(value) for value in values]
    return values if math.isfinite(values) else None


def _nan_for_null(values):
    """The inverse of `_json_numbers` (None comes back as NaN); anything else is left for validation to judge."""
    if isinstance(values, list):
        return [_nan_for_null(value) for value in values]
    return math.nan if values is None else values


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _import_training(session: TrainingSession, training) -> None:
    """Restore an exported training state into a fresh session: the carried samples and their summed gradient,
    the optimizer's step count and state. Raises ValueError naming the bad field, before changing anything."""
    if not isinstance(training, dict):
        raise ValueError("training: must be an object")
    trainer, net = session.trainer, session.net
    largest_batch = OPTIONS_BY_NAME["batchSize"].maximum
    assert largest_batch is not None
    largest_carry = int(largest_batch) - 1  # a partial batch is smaller than any batch
    carried, steps = training.get("carried"), training.get("steps")
    if not _whole(carried, 0, largest_carry):
        raise ValueError(f"training.carried: must be a whole number from 0 to {largest_carry}")
    if not _whole(steps, 0, 2**53):
        raise ValueError("training.steps: must be a whole number from 0")
    state = training.get("optimizerState")
    names = OPTIMIZERS[trainer.optimizer].state_names
    if not isinstance(state, dict) or sorted(state) != sorted(names):
        raise ValueError(
            f"training.optimizerState: must hold exactly {', '.join(names) or 'nothing'} for {trainer.optimizer}"
        )

    def flat(field: str, blocks) -> torch.Tensor:
        shapes = [tuple(block.shape) for block in net.augmented]
        try:
            tensors = [torch.as_tensor(_nan_for_null(block), dtype=torch.float64) for block in blocks]
        except (TypeError, ValueError, RuntimeError):
            tensors = []
        if not isinstance(blocks, list) or [tuple(t.shape) for t in tensors] != shapes:
            raise ValueError(
                f"{field}: must be {len(shapes)} layers of numbers of shapes "
                f"{', '.join('×'.join(map(str, shape)) for shape in shapes)} (weights, then the bias)"
            )
        return torch.cat([tensor.flatten() for tensor in tensors])

    accumulated = flat("training.accumulated", training.get("accumulated"))
    optimizer_state = {name: flat(f"training.optimizerState.{name}", state[name]) for name in names}
    trainer.carried, trainer.steps = training["carried"], training["steps"]
    trainer.accumulated.copy_(accumulated)
    for name, tensor in optimizer_state.items():
        trainer.optimizer_state[name].copy_(tensor)


def _train_together(sessions: Sequence[TrainingSession], seconds: float, max_epochs: Sequence[int | None]) -> list[int]:
    """The one training loop (see `train_group`), for sessions of one signature in any status."""
    deadline = time.perf_counter() + seconds
    counts = [0] * len(sessions)
    active = list(range(len(sessions)))
    while active:
        group = TrainerGroup([sessions[index].trainer for index in active])
        group.set_rates(
            *zip(
                *(
                    (
                        sessions[index].config["learningRate"],
                        sessions[index].config["regularizationRate"],
                        sessions[index].config["momentum"],
                    )
                    for index in active
                ),
                strict=True,
            )
        )
        staying = active
        while staying == active:
            group.train_epoch()
            staying = []
            for member, (index, evaluation) in enumerate(zip(active, group.evaluate(), strict=True)):
                session = sessions[index]
                session.epoch += 1
                counts[index] += 1
                session._evaluate(evaluation)
                session.history.record(session.epoch, evaluation)
                if session.history.due(session.epoch):
                    session.history.keep(
                        history.capture(group, member, session.epoch, evaluation, session.rule(), session.data)
                    )
                finite = session.status != DIVERGED
                session.stop_reason = session.stop_rule_reached() if finite else None
                if session.stop_reason:
                    session.status = STOPPED
                if finite and not session.stop_reason and counts[index] != max_epochs[index]:
                    staying.append(index)
            if time.perf_counter() >= deadline:
                group.write_back()
                return counts
        group.write_back()  # the members that leave keep exactly their last epoch's state
        active = staying
    return counts


def _one_signature(sessions: Sequence[TrainingSession], *columns: Sequence, frame: bool = False) -> None:
    if not sessions or any(len(column) != len(sessions) for column in columns):
        raise ValueError("expected one or more sessions and one value per session")
    if len({session.frame_signature if frame else session.signature for session in sessions}) != 1:
        raise ValueError(f"sessions of a group must share one {'frame ' if frame else ''}signature")


def train_group(sessions: Sequence[TrainingSession], seconds: float, max_epochs: Sequence[int | None]) -> list[int]:
    """Train running sessions of one signature together, one epoch at a time, as one batched computation; returns
    the epochs each trained.

    After each epoch every member is evaluated as `train_for` does; a member leaves, exactly as after its last
    epoch, when it has trained `max_epochs[i]` epochs (None: no limit), diverged (DIVERGED) or a stop rule holds
    (STOPPED, `stop_reason` set); the others go on. Returns once `seconds` have passed (every member trains at least
    one epoch) or no member is left. Pure computation (no locks, no sleeping): meant for a native thread.
    """
    _one_signature(sessions, max_epochs)
    if any(session.status != RUNNING for session in sessions):
        raise ValueError("every session of a group must be running")
    return _train_together(sessions, seconds, max_epochs)


def render_frames(sessions: Sequence[TrainingSession], focuses: Sequence[int | None]) -> list[frames.Frame]:
    """Every session's frame (one frame signature required), drawn in batched passes; `focuses[i]` is the node
    session i shows full size (None: the output)."""
    _one_signature(sessions, focuses, frame=True)
    return frames.render(TrainerGroup([session.trainer for session in sessions]), sessions[0].grid_inputs, focuses)


def warm_up() -> None:
    """Pay PyTorch's one-time costs (lazy imports, first kernels) at start-up, not inside the first request.

    One intra-op thread: at these sizes more threads only fight over the GIL and the cores (measured: 2 threads on
    2 cores swing between 5% and 50% of one thread's speed).
    """
    torch.set_num_threads(1)
    session = TrainingSession()
    session.train_for(0.01, max_epochs=2)
    session.frame()
