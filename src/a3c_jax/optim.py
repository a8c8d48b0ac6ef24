"""Shared optimizers as optax transformations: pure here, shared by SharedState's lock; the
schedules of the learning rate and the entropy bonus over updates; the params average the
checkpoints' agent plays."""
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from a3c_jax.config import A3CConfig

ScalarOrSchedule = float | Callable[[jax.Array], jax.Array]


class SharedRMSPropState(NamedTuple):
    count: jax.Array  # [] int32: updates applied so far (drives the learning-rate schedule)
    g: optax.Updates  # running mean of squared gradients, one per parameter


def shared_rmsprop(learning_rate: ScalarOrSchedule, decay: float = 0.99,
                   eps: float = 0.1) -> optax.GradientTransformation:
    """The paper's shared RMSProp (Mnih et al. 2016, section 4 and supplement).

    With g initialised to 0 and d the gradient:
        g      <- decay * g + (1 - decay) * d^2
        update  = -lr * d / sqrt(g + eps)          # eps is inside the square root
    One state is shared by all workers: SharedState applies it under its lock.
    `learning_rate` is a float or an optax schedule of the update count.
    """

    def init_fn(params):
        return SharedRMSPropState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        g = jax.tree.map(lambda g, d: decay * g + (1.0 - decay) * jnp.square(d), state.g, updates)
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        updates = jax.tree.map(lambda d, g: -lr * d / jnp.sqrt(g + eps), updates, g)
        return updates, SharedRMSPropState(state.count + 1, g)

    return optax.GradientTransformation(init_fn, update_fn)


def shared_adam(learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
                eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam with one set of moments shared by all workers (the PyTorch A3C's SharedAdam)."""
    return optax.chain(optax.scale_by_adam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))


class ParamAverageState(NamedTuple):
    count: jax.Array  # [] int32: updates averaged so far
    average: optax.Params  # the average of the params after each of them


def average_params(fraction: float) -> optax.GradientTransformation:
    """Leaves the updates as they are and keeps in its state an average of the params they lead
    to, weighted towards the last `fraction` of the updates so far: polynomial-decay averaging
    (Shamir & Zhang 2013) with eta = 1 / fraction - 1,
        average <- (1 - w) * average + w * params,   w = (eta + 1) / (count + eta).
    Its window grows with the run, so short and long runs alike average their recent params.
    Last in a chain (it needs the params the updates lead to)."""
    eta = 1.0 / fraction - 1.0

    def init_fn(params):
        return ParamAverageState(jnp.zeros([], jnp.int32), params)

    def update_fn(updates, state, params=None):
        count = state.count + 1
        weight = (eta + 1.0) / (count + eta)
        new_params = optax.apply_updates(params, updates)
        average = jax.tree.map(lambda a, p: (1.0 - weight) * a + weight * p, state.average, new_params)
        return updates, ParamAverageState(count, average)

    return optax.GradientTransformation(init_fn, update_fn)


def averaged_params(opt_state):
    """The params average in an optimizer state from make_optimizer, or None if it keeps none."""
    return next((state.average for state in opt_state if isinstance(state, ParamAverageState)), None)


def _linear_over_frames(start: float, end: float, frames: int, frames_per_update: int,
                        hold_frames: int = 0) -> optax.Schedule:
    """start held for `hold_frames` frames, then falling linearly to end over `frames` frames,
    as a function of updates."""
    def updates(frame_count):  # the update count is an int32
        return min(math.ceil(frame_count / frames_per_update), 2**31 - 1)
    return optax.linear_schedule(start, end, max(1, updates(frames)),
                                 transition_begin=updates(hold_frames))


def learning_rate_schedule(config: A3CConfig, frames_per_update: int) -> optax.Schedule:
    """config.base_learning_rate annealed linearly to config.final_lr_fraction of itself over
    config.lr_anneal_frames (-1: max_frames; 0: constant), as a function of updates."""
    start = config.base_learning_rate
    if config.lr_anneal_frames == 0:
        return optax.constant_schedule(start)
    frames = config.max_frames if config.lr_anneal_frames == -1 else config.lr_anneal_frames
    return _linear_over_frames(start, start * config.final_lr_fraction, frames, frames_per_update)


def entropy_beta_schedule(config: A3CConfig, frames_per_update: int) -> optax.Schedule:
    """config.entropy_beta, held for config.entropy_hold_frames, then falling linearly to
    config.final_entropy_beta over config.entropy_anneal_frames (0: constant), as a function
    of updates."""
    if config.entropy_anneal_frames == 0:
        return optax.constant_schedule(config.entropy_beta)
    return _linear_over_frames(config.entropy_beta, config.final_entropy_beta,
                               config.entropy_anneal_frames, frames_per_update,
                               config.entropy_hold_frames)


def make_optimizer(config: A3CConfig, frames_per_update: int) -> optax.GradientTransformation:
    """Global-norm clipping, then the configured shared optimizer with the annealed learning
    rate, then (config.param_average > 0) the params average."""
    schedule = learning_rate_schedule(config, frames_per_update)
    if config.optimizer == "adam":
        optimizer = shared_adam(schedule, eps=config.adam_eps)
    else:
        optimizer = shared_rmsprop(schedule, config.rmsprop_decay, config.rmsprop_eps)
    average = [average_params(config.param_average)] if config.param_average > 0 else []
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optimizer, *average)
