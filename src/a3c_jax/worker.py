"""One actor-learner thread: read the newest params, roll out t_max steps, compute gradients, apply."""
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from a3c_jax.config import A3CConfig
from a3c_jax.envs import agent_reset
from a3c_jax.losses import a3c_loss
from a3c_jax.networks import A3CNetworks
from a3c_jax.optim import entropy_beta_schedule
from a3c_jax.shared import SharedState


class Trajectory(NamedTuple):
    """One rollout of T steps from B envs.

    obs [T + 1, B, ...]: the last row is s_T, the bootstrap observation.
    reset [T + 1, B] bool: obs[t] starts a new episode (so step t - 1 ended one).
    action [T, B] int32, reward [T, B] float32, carry: the core state before obs[0].
    layers: the torso's layer outputs for obs[:T] as acting computed them, each [T, B, ...]
    (networks.act_keeping_layers; () for vector observations): the update reuses them.
    """

    obs: Any
    reset: Any
    action: Any
    reward: Any
    carry: Any
    layers: Any = ()


def make_grad_fn(networks: A3CNetworks, config: A3CConfig) -> Callable:
    """Jitted (params, Trajectory, entropy_beta []) -> (grads, metrics) of losses.a3c_loss with the
    config's other coefficients (the entropy bonus follows a schedule: ActorLearner.compute).

    metrics["grad_norm"] is the global gradient norm before clipping; metrics["finite"] is
    False when the loss or any gradient is NaN or infinite.
    """

    def loss_fn(params, traj: Trajectory, entropy_beta):
        logits, values, _ = networks.unroll(params, traj.obs, traj.carry, traj.reset,
                                            traj.layers)  # [T+1, B, A], [T+1, B]
        discount = config.gamma * (1.0 - traj.reset[1:].astype(jnp.float32))  # [T, B]
        return a3c_loss(logits[:-1], values, traj.action, traj.reward, discount,
                        gae_lambda=config.gae_lambda, value_coef=config.base_value_coef,
                        entropy_beta=entropy_beta)

    def grad_fn(params, traj: Trajectory, entropy_beta):
        grads, metrics = jax.grad(loss_fn, has_aux=True)(params, traj, entropy_beta)
        grad_norm = optax.tree.norm(grads)  # NaN or inf when any gradient is
        finite = jnp.isfinite(metrics["loss"]) & jnp.isfinite(grad_norm)
        return grads, dict(metrics, grad_norm=grad_norm, finite=finite)

    return jax.jit(grad_fn)


def worker_seeds(seed: int, rank: int, num_envs: int) -> tuple[int, list[int]]:
    """Worker `rank`'s action-sampling seed, seed + rank, and its envs' seeds, 1000 apart per worker."""
    return seed + rank, [(seed + rank) * 1000 + i for i in range(num_envs)]


@dataclass
class WorkerStats:
    """Where one worker's time went and how stale its updates were (read by experiments/bench.py)."""

    env_seconds: float = 0.0  # stepping the envs
    act_seconds: float = 0.0  # choosing actions
    grad_seconds: float = 0.0  # computing gradients
    applied_updates: int = 0
    stale_updates: int = 0  # updates others applied between this worker's params read and its update


class NonFiniteError(RuntimeError):
    """Too many updates in a row had a non-finite loss or gradients."""


class ActorLearner:
    """One worker's B envs, core state and sampling key: rolls out t_max steps with the params it
    is given and computes their gradients. No thread of its own: the thread Worker, the replay
    and the Ray backend drive it."""

    def __init__(self, rank: int, networks: A3CNetworks, grad_fn: Callable, env, config: A3CConfig,
                 frames_per_step: int, on_episode: Callable[[float, int], None]):
        self.rank, self.networks, self.grad_fn, self.env = rank, networks, grad_fn, env
        self.config, self.on_episode = config, on_episode
        self.frames_per_update = config.t_max * env.num_envs * frames_per_step
        self.entropy_beta = entropy_beta_schedule(config, self.frames_per_update)
        self.metrics: dict = {}
        self.stats = WorkerStats()
        key_seed, env_seeds = worker_seeds(config.seed, rank, env.num_envs)
        self.obs, _ = env.reset(seed=env_seeds)
        self.carry = networks.initial_carry(env.num_envs)
        self.reset = np.ones(env.num_envs, bool)
        self.key = jax.random.PRNGKey(key_seed)
        self.trajectory: Trajectory | None = None  # the last rollout

    def compute(self, params, read_at: int):
        """Rolls out with params (version read_at: the updates applied before them, which set the
        entropy bonus) and returns (grads, finite): finite is False when the loss or any
        gradient is NaN or infinite. Leaves the rollout in `trajectory`, its losses in `metrics`."""
        self.trajectory = self._rollout(params)
        start = time.perf_counter()
        grads, metrics = self.gradients(params, self.trajectory, read_at)
        # Waits for the gradients; host values, read by every episode that ends in the next rollout.
        self.metrics = jax.device_get(metrics)
        finite = bool(self.metrics["finite"])
        self.stats.grad_seconds += time.perf_counter() - start
        return grads, finite

    def gradients(self, params, trajectory: Trajectory, read_at: int):
        """grad_fn's (grads, metrics) for a rollout with params version read_at."""
        return self.grad_fn(params, trajectory, jnp.float32(self.entropy_beta(read_at)))

    def apply(self, shared: SharedState, grads, finite: bool, read_at: int) -> int | None:
        """apply_or_skip for this learner's gradients, counted in its stats."""
        number = apply_or_skip(shared, grads, finite, worker=self.rank, read_at=read_at,
                               frames=self.frames_per_update,
                               max_nonfinite=self.config.max_nonfinite_updates)
        self.count(number, read_at)
        return number

    def count(self, number: int | None, read_at: int) -> None:
        """Counts an applied update (number) in stats: how many others came between read and apply."""
        if number is not None:
            self.stats.applied_updates += 1
            self.stats.stale_updates += number - 1 - read_at

    def close(self) -> None:
        self.env.close()

    def _rollout(self, params) -> Trajectory:
        """t_max steps with fixed params, continuing from (and advancing) obs, carry, reset and key."""
        t_max, env = self.config.t_max, self.env
        obs, carry, reset, key = self.obs, self.carry, self.reset, self.key
        obs_buf = np.empty((t_max + 1, *obs.shape), obs.dtype)
        reset_buf = np.empty((t_max + 1, env.num_envs), bool)
        action_buf = np.empty((t_max, env.num_envs), np.int32)
        reward_buf = np.empty((t_max, env.num_envs), np.float32)
        layer_bufs = None
        carry_0 = carry
        obs_buf[0], reset_buf[0] = obs, reset
        stats = self.stats
        for t in range(t_max):
            start = time.perf_counter()
            action, carry, key, layers = self.networks.act_keeping_layers(params, obs, carry, reset, key)
            action = np.asarray(action)
            if layer_bufs is None:
                layer_bufs = tuple(np.empty((t_max, *x.shape), x.dtype) for x in layers)
            for buf, x in zip(layer_bufs, layers):
                buf[t] = x
            acted = time.perf_counter()
            obs, reward, terminated, truncated, info = env.step(action)
            stats.act_seconds += acted - start
            stats.env_seconds += time.perf_counter() - acted
            reset = agent_reset(terminated, truncated, info)
            obs_buf[t + 1], reset_buf[t + 1] = obs, reset
            action_buf[t], reward_buf[t] = action, reward
            if "final_info" in info:
                self._record_episodes(info["final_info"])
        self.obs, self.carry, self.reset, self.key = obs, carry, reset, key
        return Trajectory(obs_buf, reset_buf, action_buf, reward_buf, carry_0, layer_bufs)

    def _record_episodes(self, final_info):
        """Reports whole episodes (RecordEpisodeStatistics' unclipped return and length)."""
        if "episode" not in final_info:
            return
        episode = final_info["episode"]
        for i in np.flatnonzero(final_info["_episode"]):
            self.on_episode(float(episode["r"][i]), int(episode["l"][i]))


def apply_or_skip(shared: SharedState, grads, finite: bool, *, worker: int, read_at: int,
                  frames: int, max_nonfinite: int) -> int | None:
    """Applies worker's gradients (computed from params version read_at) to the shared state, or
    counts them skipped when not finite; returns the update's number, None for a skip. Stops
    the run (NonFiniteError) after max_nonfinite skips in a row."""
    if finite:
        return shared.apply(grads, frames, worker, read_at)
    if shared.skip(frames, worker, read_at) >= max_nonfinite:
        raise NonFiniteError(
            f"{max_nonfinite} updates in a row had a non-finite loss or gradients (each was "
            f"skipped): lower --learning-rate or check the rewards")
    return None


class Worker(threading.Thread):
    """Drives one ActorLearner against the shared state; stops when `stop` is set or the frame
    budget is spent.

    An exception is kept in `error` (with its traceback) and sets `stop`, so the whole run ends.
    """

    def __init__(self, learner: ActorLearner, shared: SharedState, stop: threading.Event):
        super().__init__(name=f"a3c-worker-{learner.rank}", daemon=True)
        self.learner, self.shared, self.stop = learner, shared, stop
        self.error: str | None = None

    @property
    def stats(self) -> WorkerStats:
        return self.learner.stats

    def run(self):
        try:
            self._loop()
        except NonFiniteError as error:
            self.error = str(error)
            self.stop.set()
        except BaseException:
            self.error = traceback.format_exc()
            self.stop.set()
        finally:
            self.learner.close()

    def _loop(self):
        max_frames = self.learner.config.max_frames
        while not self.stop.is_set() and self.shared.frames < max_frames:
            read_at, params = self.shared.read()
            grads, finite = self.learner.compute(params, read_at)
            self.learner.apply(self.shared, grads, finite, read_at)
