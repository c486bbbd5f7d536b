"""Time travel through a run: the loss history, checkpoints of the whole training state, and branches.

A `History` belongs to one network (a session starts a new one whenever it builds a new network). It keeps, per
branch, the losses after every epoch and checkpoints of everything that decides how training goes on: the flat
parameters, the partial batch's carried count and summed gradient, the optimizer's state and step count, L1's dead
links, plus the losses there, the training rule's rates then and the data trained on. Restoring a checkpoint into a
trainer and training on gives the same losses, to the bit, as the run gave from there.

Bounded memory, dense for recent epochs and sparser further back:
- losses: at most `MAX_LOSS_POINTS` per branch; when full, every other point goes and the stride doubles;
- checkpoints: one every `CHECKPOINT_EVERY` epochs is captured; a checkpoint `age` epochs behind its branch's head
  is kept while its epoch is a multiple of `spacing(age)`, which doubles each time the age passes another
  `CHECKPOINT_SLOTS` spacings. So each doubling of the run's length adds about `CHECKPOINT_SLOTS / 2` checkpoints
  (an hour at 800 epochs a second keeps about 240), and a checkpoint that goes is never wanted again.
  A branch's first checkpoint (where it starts) is always kept.

Capture is one `torch.cat` of views of the group's stacked tensors (a copy of a few hundred floats), taken only at
the epochs the policy wants. Branches: "continue from here" forks the current branch at one of its checkpoints; the
new branch is labelled with what changed. At most `MAX_BRANCHES` are kept: the oldest branch off the current line
goes first. Pure PyTorch, no web code.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import torch

from .datasets import DataSplit
from .network import OPTIMIZERS, Evaluation, Trainer, TrainerGroup

CHECKPOINT_EVERY = 10
CHECKPOINT_SLOTS = 32
MAX_LOSS_POINTS = 2048
MAX_BRANCHES = 8
# What a branch may change: the training rule's rates, read at every update, which leave the network's shape and
# the optimizer's state as they are. (Every other option builds a new network, and so a new history.)
BRANCH_OPTIONS = ("learningRate", "regularization", "regularizationRate", "momentum")


def spacing(age: int) -> int:
    """Epochs between the checkpoints kept `age` epochs behind the head."""
    span, step = CHECKPOINT_SLOTS * CHECKPOINT_EVERY, CHECKPOINT_EVERY
    while age >= span:
        span, step = span * 2, step * 2
    return step


@dataclass(eq=False)
class Checkpoint:
    epoch: int
    state: torch.Tensor  # parameters, accumulated gradient, optimizer state (in OPTIMIZERS' order), concatenated
    dead: torch.Tensor | None  # L1's dead links (None: none dead)
    carried: int
    steps: int
    evaluation: Evaluation
    rule: dict  # BRANCH_OPTIONS' values while it trained up to here
    data: DataSplit  # the session's data it trained on; shared, never copied


def capture(group: TrainerGroup, member: int, epoch: int, evaluation: Evaluation, rule: dict, data) -> Checkpoint:
    """A checkpoint of one member of a group, at the end of an epoch (the group's stacked state is the truth)."""
    names = group.optimizer.state_names
    own = group.member
    state = torch.cat(
        [own(group.params, member), own(group.accumulated, member), *(own(group.state[n], member) for n in names)]
    )
    dead = own(group.dead, member)
    return Checkpoint(
        epoch,
        state,
        dead.clone() if bool(dead.any()) else None,
        group.carried[member],
        int(group.steps[member, 0]),
        evaluation,
        dict(rule),
        data,
    )


def capture_trainer(trainer: Trainer, epoch: int, evaluation: Evaluation, rule: dict, data) -> Checkpoint:
    """A checkpoint of a trainer outside training (a group of one views its tensors: nothing is copied twice)."""
    return capture(TrainerGroup([trainer]), 0, epoch, evaluation, rule, data)


def restore(checkpoint: Checkpoint, trainer: Trainer) -> None:
    """Put a checkpoint's training state into a trainer of the same network (its data is the caller's affair)."""
    flat = trainer.net.flat.detach()
    size = flat.numel()
    parts = checkpoint.state.split(size)
    flat.copy_(parts[0])
    trainer.accumulated.copy_(parts[1])
    for name, part in zip(OPTIMIZERS[trainer.optimizer].state_names, parts[2:], strict=True):
        trainer.optimizer_state[name].copy_(part)
    if checkpoint.dead is None:
        trainer.dead.zero_()
    else:
        trainer.dead.copy_(checkpoint.dead)
    trainer.carried, trainer.steps = checkpoint.carried, checkpoint.steps


@dataclass(eq=False)
class LossCurve:
    """(epoch, train loss, test loss) after epochs `stride` apart, at most MAX_LOSS_POINTS of them."""

    epochs: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    stride: int = 1

    def add(self, epoch: int, train: float, test: float) -> None:
        if epoch % self.stride:
            return
        self.epochs.append(epoch)
        self.train.append(train)
        self.test.append(test)
        if len(self.epochs) >= MAX_LOSS_POINTS:
            self.stride *= 2
            keep = [i for i, e in enumerate(self.epochs) if e % self.stride == 0]
            self.epochs = [self.epochs[i] for i in keep]
            self.train = [self.train[i] for i in keep]
            self.test = [self.test[i] for i in keep]


@dataclass(eq=False)
class Branch:
    id: int
    label: str
    parent: int | None
    start: int  # the epoch it forked at (0 for the first)
    losses: LossCurve
    checkpoints: dict[int, Checkpoint]  # epoch -> checkpoint, in epoch order

    def prune(self, head: int) -> None:
        for epoch in [e for e in self.checkpoints if e != self.start and e % spacing(head - e)]:
            del self.checkpoints[epoch]


class History:
    """The branches of one network's run; `current` is the branch the live session trains."""

    def __init__(self, start: Checkpoint):
        self._ids = itertools.count(1)
        first = Branch(next(self._ids), "", None, start.epoch, LossCurve(), {start.epoch: start})
        first.losses.add(start.epoch, start.evaluation.train_loss, start.evaluation.test_loss)
        self.branches: dict[int, Branch] = {first.id: first}
        self.current = first
        self._pruned_at = 1

    @classmethod
    def restored(cls, branches: dict[int, Branch], current: int) -> History:
        """A history from its branches (a saved experiment's)."""
        self = cls.__new__(cls)
        self.branches, self.current = branches, branches[current]
        self._ids = itertools.count(max(branches) + 1)
        self._pruned_at = len(self.current.checkpoints)
        return self

    # --- as it trains (the training loop calls these after every epoch) --------------------------------------------

    def record(self, epoch: int, evaluation: Evaluation) -> None:
        self.current.losses.add(epoch, evaluation.train_loss, evaluation.test_loss)

    @staticmethod
    def due(epoch: int) -> bool:
        return epoch % CHECKPOINT_EVERY == 0

    def keep(self, checkpoint: Checkpoint) -> None:
        branch = self.current
        branch.checkpoints[checkpoint.epoch] = checkpoint
        # Pruning walks every checkpoint: do it once the count has grown by a few, not at every capture.
        if len(branch.checkpoints) >= self._pruned_at + 8:
            branch.prune(checkpoint.epoch)
            self._pruned_at = len(branch.checkpoints)

    # --- looking back --------------------------------------------------------------------------------------------

    def lineage(self, branch: Branch | None = None) -> list[tuple[Branch, float]]:
        """The branch and its ancestors, oldest first, each with the last epoch of it on this line."""
        line: list[tuple[Branch, float]] = []
        until: float = math.inf
        walker = branch or self.current
        while walker is not None:
            line.append((walker, until))
            until = walker.start
            walker = self.branches.get(walker.parent) if walker.parent is not None else None
        return line[::-1]

    def checkpoints(self) -> dict[int, Checkpoint]:
        """Every checkpoint on the current line (its own and its ancestors' up to where it forked), by epoch."""
        found: dict[int, Checkpoint] = {}
        for branch, until in self.lineage():
            found.update((epoch, c) for epoch, c in branch.checkpoints.items() if epoch <= until)
        return dict(sorted(found.items()))

    def nearest(self, epoch: int) -> Checkpoint:
        """The checkpoint on the current line closest to `epoch` (the earlier one on a tie)."""
        kept = self.checkpoints()
        return kept[min(kept, key=lambda e: (abs(e - epoch), e))]

    def curve(self, branch: Branch | None = None) -> LossCurve:
        """A branch's losses along its whole line: its ancestors' up to each fork, then its own."""
        whole = LossCurve()
        for part, until in self.lineage(branch):
            losses = part.losses
            for epoch, train, test in zip(losses.epochs, losses.train, losses.test, strict=True):
                if epoch <= until and (not whole.epochs or epoch > whole.epochs[-1]):
                    whole.epochs.append(epoch)
                    whole.train.append(train)
                    whole.test.append(test)
        return whole

    # --- branching -----------------------------------------------------------------------------------------------

    def fork(self, checkpoint: Checkpoint, label: str) -> Branch:
        """A new current branch that starts at `checkpoint` (one on the current line). Raises ValueError when every
        kept branch is on the current line and no more may be kept."""
        if len(self.branches) >= MAX_BRANCHES:
            on_line = {branch.id for branch, _ in self.lineage()}
            parents = {branch.parent for branch in self.branches.values()}
            spare = [b for b in self.branches.values() if b.id not in on_line and b.id not in parents]
            if not spare:
                raise ValueError(f"at most {MAX_BRANCHES} branches are kept, and every one is on this line")
            del self.branches[spare[0].id]
        branch = Branch(next(self._ids), label, self.current.id, checkpoint.epoch, LossCurve(), {})
        branch.checkpoints[checkpoint.epoch] = checkpoint
        self.branches[branch.id] = branch
        self.current = branch
        self._pruned_at = 1
        return branch


def describe_changes(before: dict, after: dict, epoch: int) -> str:
    """A branch's label: what it changed, and where (`"L2 0.01, learning rate 0.003 at epoch 300"`)."""
    names = {
        "learningRate": "learning rate",
        "regularizationRate": "regularization rate",
        "momentum": "momentum",
    }
    parts = []
    if after["regularization"] != before["regularization"]:
        parts.append(
            "no regularization"
            if after["regularization"] == "none"
            else f"{after['regularization']} {after['regularizationRate']:g}"
        )
    elif after["regularizationRate"] != before["regularizationRate"]:
        parts.append(f"regularization rate {after['regularizationRate']:g}")
    for name in ("learningRate", "momentum"):
        if after[name] != before[name]:
            parts.append(f"{names[name]} {after[name]:g}")
    return f"{', '.join(parts) or 'replay'} at epoch {epoch}"
