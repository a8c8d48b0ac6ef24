"""Replaying a recorded run bit for bit: `a3c_jax.Replay(run_dir)` or `python -m a3c_jax.train --replay RUN_DIR`.

The workers of the recorded run are rebuilt (same seeds) and stepped one at a time in the
recorded order, each rolling out with the params version its record entry names, so the
params, optimizer state, episode returns and checkpoints come out identical to the run's.

    replay = Replay("runs/CartPole-v1_ff_seed0")
    update = replay.run(until=120)       # stop once update 120 is applied (None: to the end)
    update.params_read, update.trajectory, update.grads, update.metrics   # what made it
    replay.shared.params                 # the params after it
"""
import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.config import A3CConfig
from a3c_jax.envs import resolve_game
from a3c_jax.record import CHECKPOINT, SESSION, SKIP, UPDATE, RecordError, read
from a3c_jax.training_run import TrainingRun, prepare_run
from a3c_jax.worker import Trajectory


@dataclass(frozen=True)
class ReplayedUpdate:
    """One recorded update as the replay made it again."""

    number: int  # the update's number (the updates applied so far, for a skipped one)
    worker: int
    read_at: int  # the params version its gradients were computed from
    applied: bool  # False: its gradients were not finite and were skipped, as in the run
    params_read: Any  # that params version
    trajectory: Trajectory  # the rollout (obs [T + 1, B, ...], actions [T, B], ...)
    grads: Any  # the gradients before clipping, as pushed to the shared optimizer
    metrics: dict  # the loss terms, grad_norm and finite


@dataclass(frozen=True)
class CheckpointMatch:
    name: str  # <Game>_<frames>
    replayed: str  # the replay's checkpoint
    original: str | None  # the run's, if it still exists (only the newest few are kept)
    identical: bool | None  # params, optimizer state and counters bitwise equal; None: no original


class Replay:
    """Steps a recorded run's workers in the recorded order (see the module docstring).

    env_fn: the env_fn the run was trained with, if any. checkpoint_dir: where the replay
    writes its checkpoints (default <run_dir>/replay), to be compared with the run's.
    """

    def __init__(self, run_dir: str, env_fn=None, checkpoint_dir: str | None = None):
        self.run_dir, self.env_fn = run_dir, env_fn
        self.checkpoint_dir = checkpoint_dir or os.path.join(run_dir, "replay")
        self.entries, self.sessions = read(run_dir)
        self.position = 0  # the next entry to replay
        self.session: TrainingRun | None = None  # the current session's run, never started
        self.session_config: A3CConfig | None = None  # as recorded (the replay's writes elsewhere)
        self.versions: dict[int, Any] = {}  # params by version, the few that staleness needs
        self.max_lag = _max_lag(self.entries)
        self.checkpoints: list[CheckpointMatch] = []
        self.last: ReplayedUpdate | None = None
        self._earlier_returns: list[float] = []  # of the sessions before this one

    @property
    def shared(self):
        """The replayed SharedState: params, opt_state, frames, updates."""
        return self.session.shared

    @property
    def episode_returns(self) -> list[float]:
        """Unclipped returns of the episodes finished so far, worker by worker as replayed."""
        return self._earlier_returns + (list(self.session.run_log.returns) if self.session else [])

    def step(self) -> ReplayedUpdate | None:
        """Replays entries up to and including the next update (or skip); None at the record's end."""
        while self.position < len(self.entries):
            kind, worker, version = (int(v) for v in self.entries[self.position].tolist())
            where = f"entry {self.position} of the update record in {self.run_dir!r}"
            self.position += 1
            if kind == SESSION:
                self._start_session(version, where)
            elif kind == CHECKPOINT:
                self._checkpoint(version, where)
            elif kind in (UPDATE, SKIP):
                self.last = self._update(worker, version, kind == UPDATE, where)
                return self.last
            else:
                raise RecordError(f"{where} has unknown kind {kind}: the record is damaged")
        return None

    def run(self, until: int | None = None) -> ReplayedUpdate | None:
        """Replays to the end of the record, or until update `until` is applied; returns the last update."""
        while (update := self.step()) is not None:
            if until is not None and update.applied and update.number >= until:
                break
        if until is not None and (self.last is None or self.last.number < until):
            raise RecordError(f"the record in {self.run_dir!r} ends at update "
                              f"{self.shared.updates if self.session else 0}, before --until {until}")
        return self.last

    def close(self) -> None:
        """Closes the current session's envs."""
        if self.session is not None:
            for worker in self.session.workers:
                worker.learner.close()
            self._earlier_returns = self.episode_returns
            self.session = None

    def _start_session(self, updates: int, where: str) -> None:
        """Rebuilds the workers with fresh envs, as a (re)started run did, from the replay's state."""
        sessions = [s for s in self.sessions if s["entry"] == self.position - 1]
        if len(sessions) != 1:
            raise RecordError(f"{where} starts a session that update_record.json does not list: "
                              f"the record is damaged")
        config = A3CConfig.from_dict(sessions[0]["config"])
        resume_from = self._state_at(updates, config, where)
        self.close()
        replay_config = dataclasses.replace(config, checkpoint_dir=self.checkpoint_dir,
                                            keep_checkpoints=1_000_000)
        self.session = prepare_run(replay_config, self.env_fn, resume_from=resume_from)
        self.session_config = config
        self.versions = {updates: self.shared.params}

    def _state_at(self, updates: int, config: A3CConfig, where: str):
        """The state a session starting at `updates` resumed from: the replay's own, or for a
        record that began with a resume, that run's checkpoint."""
        if self.session is not None:
            if self.shared.updates != updates:
                raise RecordError(f"{where} resumes from update {updates} but the replay is at "
                                  f"update {self.shared.updates}: the record is damaged")
            state = self.shared.snapshot()
            return checkpoint.Checkpoint(
                path=f"{self.run_dir} (replay)", label=self.session.label, config=self.session_config,
                frames=state["frames"], updates=updates, num_actions=self.session.num_actions,
                obs_shape=self.session.obs_shape, params=serialization.to_state_dict(state["params"]),
                opt_state=serialization.to_state_dict(state["opt_state"]))
        if updates == 0:
            return None
        label = resolve_game(config.game, own_env=self.env_fn is not None).label
        for path in checkpoint.list_checkpoints(config.checkpoint_dir, label):
            ckpt = checkpoint.load(path)
            if ckpt.updates == updates:
                return ckpt
        raise RecordError(f"the record in {self.run_dir!r} began by resuming update {updates}, and "
                          f"no checkpoint at that update is left in {config.checkpoint_dir!r}")

    def _update(self, worker: int, read_at: int, applied: bool, where: str) -> ReplayedUpdate:
        if self.session is None or not 0 <= worker < len(self.session.workers):
            raise RecordError(f"{where} names worker {worker}, which the run's config does not "
                              f"have: the record does not belong to this run")
        if read_at not in self.versions:
            raise RecordError(f"{where} reads params version {read_at}, which the replay never "
                              f"had at update {self.shared.updates}: the record is damaged")
        learner, params = self.session.workers[worker].learner, self.versions[read_at]
        grads, finite = learner.compute(params, read_at)
        if finite != applied:
            raise RecordError(f"{where}: the run {'applied' if applied else 'skipped'} this "
                              f"update but the replay's gradients are "
                              f"{'not ' if not finite else ''}finite: the replay diverged from the run")
        number = learner.apply(self.shared, grads, finite, read_at)
        version, newest = self.shared.read()
        self.versions[version] = newest
        for old in [v for v in self.versions if v < version - self.max_lag]:
            del self.versions[old]
        return ReplayedUpdate(version if number is None else number, worker, read_at, applied,
                              params, learner.trajectory, grads, learner.metrics)

    def _checkpoint(self, updates: int, where: str) -> None:
        if self.shared.updates != updates:
            raise RecordError(f"{where} marks a checkpoint at update {updates} but the replay is "
                              f"at update {self.shared.updates}: the record is damaged")
        replayed = self.session.save()
        name = os.path.basename(replayed)
        original = os.path.join(self.session_config.checkpoint_dir, name)
        identical = None
        if os.path.isfile(original):
            identical = same_state(checkpoint.load(replayed), checkpoint.load(original))
            if not identical:
                raise RecordError(f"the replay's {name} differs from the run's {original!r}: the "
                                  f"record in {self.run_dir!r} does not match that checkpoint")
        self.checkpoints.append(CheckpointMatch(name, replayed, original if identical is not None
                                                else None, identical))


def same_state(a: checkpoint.Checkpoint, b: checkpoint.Checkpoint) -> bool:
    """Counters, params and optimizer state bitwise equal."""
    if (a.frames, a.updates) != (b.frames, b.updates):
        return False
    leaves = [jax.tree.leaves(x) for x in (a.params, b.params, a.opt_state, b.opt_state)]
    pairs = list(zip(leaves[0], leaves[1])) + list(zip(leaves[2], leaves[3]))
    return (len(leaves[0]) == len(leaves[1]) and len(leaves[2]) == len(leaves[3])
            and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in pairs))


def _max_lag(entries: np.ndarray) -> int:
    """The most updates any recorded gradient was behind: how many old params versions to keep."""
    lag, current = 0, 0
    for kind, _, version in entries.tolist():
        if kind == SESSION:
            current = version
        elif kind in (UPDATE, SKIP):
            lag = max(lag, current - version)
            current += kind == UPDATE
    return lag
