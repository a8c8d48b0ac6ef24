"""A training run, for library users: `a3c_jax.train(config, env_fn=None)`.

The run builds the envs, networks, shared state and workers, then watches the workers,
writing checkpoints and progress lines until the frame budget is spent.
"""
import threading
import time
from dataclasses import dataclass

import jax

from a3c_jax import checkpoint
from a3c_jax.config import A3CConfig, ConfigError
from a3c_jax.envs import resolve_game
from a3c_jax.metrics import RunLog
from a3c_jax.optim import learning_rate_schedule
from a3c_jax.paths import ensure_writable_dir
from a3c_jax.record import UpdateRecord
from a3c_jax.shared import SharedState
from a3c_jax.training_setup import (DriverClock, TrainResult, WorkerFailed, last_checkpoint,
                                    save_state, starting_point, worker_envs)
from a3c_jax.worker import ActorLearner, Worker, make_grad_fn


@dataclass
class TrainingRun:
    """One run's shared state, workers and outputs, ready to start: made by prepare_run."""

    config: A3CConfig
    label: str
    shared: SharedState
    workers: list
    stop: threading.Event
    run_log: RunLog
    num_actions: int
    obs_shape: tuple

    def save(self) -> str:
        """Writes a checkpoint of the current state; returns its path."""
        return save_state(self.config, self.label, self.shared.snapshot(), self.num_actions,
                          self.obs_shape)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop_and_join(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join()
        self.run_log.close()
        if self.shared.record is not None:
            self.shared.record.flush()


def prepare_run(config: A3CConfig, env_fn=None, *,
                resume_from: str | checkpoint.Checkpoint | None = None,
                log_dir: str | None = None) -> TrainingRun:
    """Builds envs, networks, the shared state (fresh or from a checkpoint) and the workers."""
    game = resolve_game(config.game, own_env=env_fn is not None)
    envs = [worker_envs(config, game, rank, env_fn) for rank in range(config.num_workers)]
    start = starting_point(config, game, envs[0], resume_from)
    networks = start.networks
    ensure_writable_dir(config.checkpoint_dir, "--checkpoint-dir")
    record = None
    if log_dir is not None:
        ensure_writable_dir(log_dir, "--run-dir or --log-dir")
        record = UpdateRecord.start(log_dir, config, start.updates)
    shared = SharedState(start.params, start.optimizer, start.opt_state, start.frames,
                         start.updates, record)
    schedule = jax.jit(learning_rate_schedule(config, start.frames_per_update))
    schedule(0)  # compile now, not when the first episode ends
    run_log = RunLog(log_dir, config.max_frames, start_frames=start.frames)
    stop = threading.Event()
    learners = []

    def on_episode(episode_return, length):
        run_log.episode(episode_return, length, frames=shared.frames, updates=shared.updates,
                        skipped_updates=shared.skipped_updates,
                        learning_rate=float(schedule(shared.updates)), losses=learners[0].metrics)

    grad_fn = make_grad_fn(networks, config)
    learners.extend(ActorLearner(rank, networks, grad_fn, env, config, game.frames_per_step,
                                 on_episode) for rank, env in enumerate(envs))
    workers = [Worker(learner, shared, stop) for learner in learners]
    return TrainingRun(config, game.label, shared, workers, stop, run_log, start.num_actions,
                       start.obs_shape)


def train(config: A3CConfig, env_fn=None, *,
          resume_from: str | checkpoint.Checkpoint | None = None,
          log_dir: str | None = None, progress_every: float = 10.0) -> TrainResult:
    """Trains until config.max_frames frames and returns the final checkpoint.

    env_fn(seed) -> gymnasium.Env with discrete actions replaces the configured game
    (config.game then only names the checkpoints). resume_from continues a checkpoint (a
    path or a loaded Checkpoint): its frames, updates and shared optimizer statistics.
    Ctrl-C stops the workers and still writes the final checkpoint. progress_every: seconds
    between progress lines (0: none).
    """
    if config.backend == "ray":
        return _ray_backend().train_on_ray(config, env_fn, resume_from=resume_from,
                                           log_dir=log_dir, progress_every=progress_every)
    run = prepare_run(config, env_fn, resume_from=resume_from, log_dir=log_dir)
    shared = run.shared
    clock = DriverClock(config.checkpoint_every, shared.frames, progress_every)
    interrupted, path = False, None
    try:
        run.start()
        while any(worker.is_alive() for worker in run.workers):
            time.sleep(0.05)
            if not run.stop.is_set() and clock.checkpoint_due(shared.frames):
                path = run.save()
            if clock.progress_due():
                run.run_log.show_progress(shared.frames)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        run.stop_and_join()
    errors = [worker.error for worker in run.workers if worker.error]
    if errors:
        if shared.params_are_finite():
            path = run.save()
        raise WorkerFailed(f"training stopped, {last_checkpoint(path)}; a worker failed: {errors[0]}")
    path = run.save()
    if progress_every:
        run.run_log.show_progress(shared.frames, final=True)
    return TrainResult(path, shared.frames, shared.updates, list(run.run_log.returns), interrupted)


def _ray_backend():
    """The Ray backend module, imported only when a run asks for it."""
    try:
        from a3c_jax import ray_backend
    except ImportError as error:
        raise ConfigError(f"--backend ray needs Ray ({error}): pip install 'a3c-jax[ray]'") from None
    return ray_backend


