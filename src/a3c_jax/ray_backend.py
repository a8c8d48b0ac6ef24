"""The Ray backend (`--backend ray`): the same A3C with each worker a Ray actor process.

A ParameterServer actor wraps the run's SharedState (params, optimizer state, counters and the
update record) and applies one worker's gradients at a time: Ray runs an actor's methods one
at a time, which is the lock. Each RolloutWorker actor wraps an ActorLearner: it rolls out
with the params it last received, computes the gradients with the same jitted function as the
threads, and pushes them with the params version it read; the reply carries the newest
params. The driver (`train_on_ray`) starts them, restarts dead workers (Ray actor restarts),
and writes the same checkpoints, metrics and progress lines as the threads backend.
"""
import os
import signal
import threading
import time
import uuid

import jax
import ray
from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from a3c_jax.config import A3CConfig
from a3c_jax.envs import resolve_game
from a3c_jax.metrics import RunLog
from a3c_jax.optim import learning_rate_schedule, make_optimizer
from a3c_jax.paths import ensure_writable_dir
from a3c_jax.record import UpdateRecord
from a3c_jax.shared import SharedState
from a3c_jax.training_setup import (DriverClock, TrainResult, WorkerFailed, last_checkpoint,
                                    save_state, starting_point, worker_envs)
from a3c_jax.worker import ActorLearner, NonFiniteError, apply_or_skip, make_grad_fn

STRAGGLER_SECONDS = 30.0  # how long a finished run waits for workers that are still restarting
SERVER_NAME = "a3c_jax-parameter-server"  # with a suffix of its own per run

# One XLA thread per actor: the actors share the machine's cores between them.
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class ParameterServer:
    """The shared params, optimizer state, counters and update record, in one actor."""

    def __init__(self, config: A3CConfig, params, opt_state, frames: int, updates: int,
                 frames_per_update: int, log_dir: str | None):
        record = UpdateRecord.start(log_dir, config, updates) if log_dir is not None else None
        self.shared = SharedState(params, make_optimizer(config, frames_per_update), opt_state,
                                  frames, updates, record)
        self.config = config
        self.stopping, self.error = False, None
        self.episodes: list[tuple] = []  # (return, length, frames, updates, skipped, losses) since poll()
        self.apply_seconds, self.pushes = 0.0, 0

    def read(self) -> tuple[int, object]:
        version, params = self.shared.read()
        return version, jax.device_get(params)

    def push(self, worker: int, grads, finite: bool, read_at: int, frames: int,
             episodes: list[tuple[float, int]], losses: dict):
        """Applies one worker's gradients (or counts them skipped); returns (version, newest
        params, this update's number or None, whether the worker goes on)."""
        start = time.perf_counter()
        number = None
        if not self.stopping:
            try:
                number = apply_or_skip(self.shared, grads, finite, worker=worker, read_at=read_at,
                                       frames=frames,
                                       max_nonfinite=self.config.max_nonfinite_updates)
            except NonFiniteError as error:
                self.error, self.stopping = str(error), True
        self.apply_seconds += time.perf_counter() - start
        self.pushes += 1
        shared = self.shared
        self.episodes.extend((r, n, shared.frames, shared.updates, shared.skipped_updates, losses)
                             for r, n in episodes)
        go_on = not self.stopping and shared.frames < self.config.max_frames
        version, params = self.read()
        return version, params, number, go_on

    def poll(self) -> dict:
        """Counters, the episodes finished since the last poll, and a worker-stopping error."""
        episodes, self.episodes = self.episodes, []
        return dict(frames=self.shared.frames, updates=self.shared.updates, error=self.error,
                    episodes=episodes, apply_seconds=self.apply_seconds, pushes=self.pushes)

    def snapshot(self) -> dict:
        return jax.device_get(self.shared.snapshot())

    def pid(self) -> int:
        return os.getpid()

    def stop(self) -> None:
        self.stopping = True


class RolloutWorker:
    """One worker's ActorLearner in its own process: roll out, gradients, push, repeat."""

    def __init__(self, config: A3CConfig, rank: int, env_fn=None):
        game = resolve_game(config.game, own_env=env_fn is not None)
        env = worker_envs(config, game, rank, env_fn)
        networks = starting_point(config, game, env, None).networks
        self.finished: list[tuple[float, int]] = []
        self.learner = ActorLearner(rank, networks, make_grad_fn(networks, config), env, config,
                                    game.frames_per_step,
                                    lambda r, n: self.finished.append((r, n)))

    def pid(self) -> int:
        return os.getpid()

    def run(self, server) -> dict:
        """Trains until the server says stop; returns this worker's WorkerStats as a dict, with
        push_seconds: the time from sending gradients to receiving the newest params."""
        learner = self.learner
        version, params = ray.get(server.read.remote())
        go_on, push_seconds = True, 0.0
        while go_on:
            grads, finite = learner.compute(params, version)
            finished, self.finished = self.finished, []
            losses = {k: float(v) for k, v in learner.metrics.items()}
            read_at, start = version, time.perf_counter()
            version, params, number, go_on = ray.get(server.push.remote(
                learner.rank, jax.device_get(grads), finite, read_at, learner.frames_per_update,
                finished, losses))
            push_seconds += time.perf_counter() - start
            learner.count(number, read_at)
        return dict(vars(learner.stats), push_seconds=push_seconds)


def connect(config: A3CConfig) -> None:
    """Joins config.ray_address, or starts a local cluster, unless this process is connected.
    Keeps this process's SIGINT and SIGTERM handlers (the command's final checkpoint)."""
    if ray.is_initialized():
        return
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    ray.init(address=config.ray_address or None, include_dashboard=False, configure_logging=False)
    if threading.current_thread() is threading.main_thread():
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def start_actors(config: A3CConfig, start, env_fn=None, log_dir: str | None = None):
    """The parameter server (on this node, where checkpoints and the record are written) and
    config.num_workers rollout workers sharing the cluster's CPUs; returns (server, workers)."""
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    server = ray.remote(ParameterServer).options(
        num_cpus=0, scheduling_strategy=here, name=f"{SERVER_NAME}-{uuid.uuid4().hex[:8]}").remote(
        config, jax.device_get(start.params), jax.device_get(start.opt_state), start.frames,
        start.updates, start.frames_per_update, log_dir)
    cpus = ray.cluster_resources().get("CPU", 1) / config.num_workers
    env_vars = {"XLA_FLAGS": XLA_FLAGS, "A3C_JAX_CPUS": str(max(1, int(cpus)))}
    worker_actor = ray.remote(RolloutWorker).options(
        num_cpus=cpus if cpus < 1 else int(cpus),
        max_restarts=config.max_worker_restarts, runtime_env={"env_vars": env_vars})
    return server, [worker_actor.remote(config, rank, env_fn) for rank in range(config.num_workers)]


def train_on_ray(config: A3CConfig, env_fn=None, *, resume_from=None, log_dir=None,
                 progress_every: float = 10.0):
    """`a3c_jax.train` with backend="ray": same arguments, same TrainResult, same files."""
    game = resolve_game(config.game, own_env=env_fn is not None)
    probe = worker_envs(config, game, 0, env_fn)
    start = starting_point(config, game, probe, resume_from)
    probe.close()
    ensure_writable_dir(config.checkpoint_dir, "--checkpoint-dir")
    if log_dir is not None:
        ensure_writable_dir(log_dir, "--run-dir or --log-dir")
    connect(config)
    server, workers = start_actors(config, start, env_fn, log_dir)
    running = {worker.run.remote(server): rank for rank, worker in enumerate(workers)}
    deaths = [0] * config.num_workers
    run_log = RunLog(log_dir, config.max_frames, start_frames=start.frames)
    schedule = jax.jit(learning_rate_schedule(config, start.frames_per_update))
    clock = DriverClock(config.checkpoint_every, start.frames, progress_every)
    path, error, interrupted, frames, updates = None, None, False, start.frames, start.updates

    def save() -> str:
        state = ray.get(server.snapshot.remote())
        return save_state(config, game.label, state, start.num_actions, start.obs_shape)

    def poll() -> None:
        nonlocal frames, updates, error
        state = ray.get(server.poll.remote())
        frames, updates, error = state["frames"], state["updates"], error or state["error"]
        for r, n, at_frames, at_updates, skipped, losses in state["episodes"]:
            run_log.episode(r, n, frames=at_frames, updates=at_updates, skipped_updates=skipped,
                            learning_rate=float(schedule(at_updates)), losses=losses)

    try:
        try:
            ended_at = None  # when the server stopped taking updates
            while running and (ended_at is None or time.time() < ended_at + STRAGGLER_SECONDS):
                done, _ = ray.wait(list(running), timeout=0.05)
                for ref in done:
                    rank = running.pop(ref)
                    try:
                        ray.get(ref)
                    except RayTaskError as failure:  # the worker raised: the run stops with it
                        error = error or f"worker {rank}: {failure}"
                    except ActorUnavailableError:  # being restarted (or its node is gone)
                        if ended_at is None:  # ask again shortly; the others go on meanwhile
                            time.sleep(0.2)
                            running[workers[rank].run.remote(server)] = rank
                    except RayActorError as died:  # its process died: Ray restarts it, up to a limit
                        deaths[rank] += 1
                        if deaths[rank] > config.max_worker_restarts:
                            error = error or (f"worker {rank}'s process died {deaths[rank]} times "
                                              f"(--max-worker-restarts {config.max_worker_restarts}), "
                                              f"last: {died}")
                        else:
                            running[workers[rank].run.remote(server)] = rank
                poll()
                if error:
                    server.stop.remote()
                if ended_at is None and (error or frames >= config.max_frames):
                    ended_at = time.time()
                if not error and clock.checkpoint_due(frames):
                    path = save()
                if clock.progress_due():
                    run_log.show_progress(frames)
        except KeyboardInterrupt:
            interrupted = True
            server.stop.remote()
            ray.wait(list(running), num_returns=len(running), timeout=60)
        poll()
        path = save()
    except RayActorError as died:
        raise WorkerFailed(f"the parameter server died ({type(died).__name__}), so training "
                           f"stopped; {last_checkpoint(path)}") from None
    finally:
        run_log.close()
        for actor in workers:
            ray.kill(actor, no_restart=True)
        ray.kill(server)
    if error:
        raise WorkerFailed(f"training stopped, last checkpoint: {path}; a worker failed: {error}")
    if progress_every:
        run_log.show_progress(frames, final=True)
    return TrainResult(path, frames, updates, list(run_log.returns), interrupted)
