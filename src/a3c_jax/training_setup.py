"""What both training backends (threads and Ray) share: a run's starting point (fresh or a
checkpoint), each worker's envs, when the driver writes checkpoints and progress lines, how it
writes a checkpoint, and the result it returns."""
import time
from dataclasses import dataclass

import gymnasium as gym
import jax
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.config import A3CConfig, ConfigError
from a3c_jax.envs import Game, make_envs
from a3c_jax.networks import make_networks, network_options
from a3c_jax.optim import make_optimizer
from a3c_jax.worker import worker_seeds


@dataclass(frozen=True)
class TrainResult:
    checkpoint: str  # path of the final checkpoint
    frames: int  # frames trained in total (including those of a resumed checkpoint)
    updates: int
    episode_returns: list  # unclipped returns of the episodes finished in this call, in order
    interrupted: bool = False


class WorkerFailed(RuntimeError):
    """A worker thread raised; the message holds its traceback."""


def save_state(config: A3CConfig, label: str, state: dict, num_actions: int,
               obs_shape: tuple) -> str:
    """Writes SharedState.snapshot()'s state as the checkpoint `<label>_<frames>`; returns its path."""
    return checkpoint.save(config.checkpoint_dir, label, config=config, params=state["params"],
                           opt_state=state["opt_state"], frames=state["frames"],
                           updates=state["updates"], num_actions=num_actions,
                           obs_shape=obs_shape, keep=config.keep_checkpoints)


@dataclass
class Start:
    """What a run starts from: its agent and its state, fresh or a checkpoint's."""

    game: Game
    networks: object  # networks.A3CNetworks
    optimizer: object  # optax.GradientTransformation
    num_actions: int
    obs_shape: tuple
    frames_per_update: int
    params: object
    opt_state: object
    frames: int
    updates: int


def starting_point(config: A3CConfig, game: Game, env: gym.vector.VectorEnv,
                   resume_from: str | checkpoint.Checkpoint | None) -> Start:
    """The networks and optimizer for env's spaces, and their state: fresh, or resume_from's."""
    obs_space, action_space = env.single_observation_space, env.single_action_space
    if not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(f"A3C needs discrete actions, the env has {action_space}: "
                          f"wrap it to a gymnasium.spaces.Discrete action space")
    num_actions = int(action_space.n)
    networks = make_networks(obs_space.shape, obs_space.dtype, num_actions,
                             **network_options(config))
    frames_per_update = config.t_max * config.envs_per_worker * game.frames_per_step
    optimizer = make_optimizer(config, frames_per_update)
    params = networks.init(jax.random.PRNGKey(config.seed))
    opt_state, frames, updates = optimizer.init(params), 0, 0
    if resume_from is not None:
        ckpt = checkpoint.load(resume_from) if isinstance(resume_from, str) else resume_from
        if ckpt.opt_state is None:
            raise checkpoint.CheckpointError(
                f"{ckpt.path!r} is an exported agent without optimizer state: training cannot "
                f"continue from it; evaluate it, or resume from a full checkpoint")
        checkpoint.check_compatible(ckpt, num_actions=num_actions, obs_shape=obs_space.shape,
                                    label=game.label, config=config)
        params = serialization.from_state_dict(params, ckpt.params)
        opt_state = serialization.from_state_dict(opt_state, ckpt.opt_state)
        frames, updates = ckpt.frames, ckpt.updates
    return Start(game, networks, optimizer, num_actions, tuple(obs_space.shape),
                 frames_per_update, params, opt_state, frames, updates)




def worker_envs(config: A3CConfig, game: Game, rank: int, env_fn=None) -> gym.vector.VectorEnv:
    """Worker `rank`'s batch of config.envs_per_worker training envs (envs.make_envs)."""
    _, seeds = worker_seeds(config.seed, rank, config.envs_per_worker)
    return make_envs(game, seeds, training=True, env_fn=env_fn,
                     sticky_actions=config.sticky_actions, frame_stack=config.frames_per_observation,
                     max_episode_frames=config.max_episode_frames)


class DriverClock:
    """When a run's driver writes its next checkpoint (every checkpoint_every frames) and its
    next progress line (every progress_every seconds; 0: never)."""

    def __init__(self, checkpoint_every: int, frames: int, progress_every: float):
        self.checkpoint_every, self.progress_every = checkpoint_every, progress_every
        self.next_checkpoint = (frames // checkpoint_every + 1) * checkpoint_every
        self.next_progress = time.time() + progress_every

    def checkpoint_due(self, frames: int) -> bool:
        if frames < self.next_checkpoint:
            return False
        self.next_checkpoint = (frames // self.checkpoint_every + 1) * self.checkpoint_every
        return True

    def progress_due(self) -> bool:
        if not self.progress_every or time.time() < self.next_progress:
            return False
        self.next_progress += self.progress_every
        return True


def last_checkpoint(path: str | None) -> str:
    """The failure messages' account of what was kept."""
    return f"last checkpoint: {path}" if path else "no checkpoint was written"
