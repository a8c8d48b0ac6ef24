"""a3c-jax: the A3C agent of Mnih et al. 2016 in JAX."""
from a3c_jax.checkpoint import CheckpointError
from a3c_jax.config import A3CConfig, ConfigError
from a3c_jax.envs import CueMemory, Game, UnknownGameError, make_envs, resolve_game
from a3c_jax.evaluation_run import EvalResult, evaluate, load_agent
from a3c_jax.networks import make_networks
from a3c_jax.optim import shared_adam, shared_rmsprop
from a3c_jax.paths import UnwritablePathError
from a3c_jax.record import RecordError
from a3c_jax.replay import Replay
from a3c_jax.shared import SharedState
from a3c_jax.training_run import train
from a3c_jax.training_setup import TrainResult, WorkerFailed

__all__ = [
    "A3CConfig", "CheckpointError", "ConfigError", "CueMemory", "EvalResult", "Game", "RecordError", "Replay", "SharedState",
    "TrainResult", "UnknownGameError", "UnwritablePathError", "WorkerFailed", "evaluate", "load_agent",
    "make_envs", "make_networks", "resolve_game", "shared_adam", "shared_rmsprop", "train",
]
