"""The paper's actor-critics as linen modules, and the pure functions that act and learn with them."""
import functools
from dataclasses import dataclass
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from a3c_jax.conv import StridedConv

Params = Any
Carry = Any  # (c, h), each [B, lstm_size], for the LSTM; () for the FF agent

glorot = nn.initializers.xavier_uniform()


def normalised_frames(obs, frame_norm: str = "centre"):
    """obs [N, C, H, W] uint8 -> [N, H, W, C] float32, each frame minus its mean brightness.

    `centre`: scaled to [0, 1] first; `std`: divided by the frame's standard deviation, so
    every game's frames reach the network at one scale. Uncentred, the mean brightness of a
    near-uniform background decides the sign of a conv1 filter everywhere and filters die.
    """
    # Reduced over the last two axes before the transpose: twice as fast on XLA's CPU backend.
    x = obs.astype(jnp.float32) / 255.0
    x = x - x.mean(axis=(2, 3), keepdims=True)
    if frame_norm == "std":
        # A blank frame (the zero-filled stack after a reset) has std 0: it stays all zeros.
        x = x / jnp.maximum(jnp.sqrt(jnp.mean(jnp.square(x), axis=(2, 3), keepdims=True)), 1e-2)
    return jnp.transpose(x, (0, 2, 3, 1))


def normalised_columns(norm: float) -> nn.initializers.Initializer:
    """Gaussian kernel [in, out] whose every output unit's weight vector has the given norm."""
    def init(key, shape, dtype=jnp.float32):
        w = jax.random.normal(key, shape, dtype)
        return w * norm / jnp.linalg.norm(w, axis=0, keepdims=True)
    return init


HEAD_NORMS = {"zero": (0.0, 0.0), "scaled": (0.01, 1.0)}  # (policy, value) weight norms per output


class ActorCritic(nn.Module):
    """torso -> (LSTM core) -> softmax policy and linear value heads.

    Images [B, C, H, W] uint8 (C stacked frames) go through the paper's torso:
    conv 16 8x8/4, conv 32 4x4/2, dense 256, ReLU, each frame first normalised as
    `frame_norm` says (normalised_frames) and, with `centred_features`, each conv feature map
    centred over the image before the next layer (centred).
    Vectors [B, D] go through an MLP (64, 64, tanh), the usual torso for classic control.
    Glorot initialisation everywhere but the two heads (`head_init`): `scaled` gives each
    output's weights norm 0.01 (policy) and 1 (value), as the PyTorch A3C; `zero` starts them at 0.
    """

    num_actions: int
    arch: str = "ff"
    lstm_size: int = 256
    frame_norm: str = "centre"
    head_init: str = "scaled"
    centred_features: bool = True

    def setup(self):
        self.conv1 = StridedConv(16, 8, kernel_init=glorot)  # 8x8, stride 4
        self.conv2 = StridedConv(32, 4, kernel_init=glorot)  # 4x4, stride 2
        self.dense = nn.Dense(256, kernel_init=glorot)
        self.mlp = [nn.Dense(64, kernel_init=glorot), nn.Dense(64, kernel_init=glorot)]
        if self.arch == "lstm":
            self.lstm = nn.OptimizedLSTMCell(self.lstm_size, kernel_init=glorot,
                                             recurrent_kernel_init=glorot)
        # Scaled heads learnt Pong in fewer frames than zero ones (README: Learning speed, a22).
        policy_norm, value_norm = HEAD_NORMS[self.head_init]
        self.policy = nn.Dense(self.num_actions, kernel_init=normalised_columns(policy_norm))
        self.value = nn.Dense(1, kernel_init=normalised_columns(value_norm))

    def torso(self, obs):
        """obs [N, C, H, W] uint8 or [N, D] -> features [N, F]."""
        if obs.ndim == 4:
            x = self.centred(nn.relu(self.conv1(normalised_frames(obs, self.frame_norm))))
            x = self.centred(nn.relu(self.conv2(x)))
            return nn.relu(self.dense(x.reshape(x.shape[0], -1)))
        x = obs.astype(jnp.float32)
        for layer in self.mlp:
            x = jnp.tanh(layer(x))
        return x

    def centred(self, x):
        """x [N, H, W, C] -> each channel minus its mean over the image, when centred_features.

        ReLU outputs are never negative, so every incoming weight of a unit in the next layer
        gets a gradient of one sign; Adam steps each by the learning rate, so the unit's
        input moves by lr * fan-in at once and it can die in a few updates. Centred inputs
        give mixed signs, as centred frames do for conv1 (whose filters then never die).
        """
        return x - x.mean(axis=(1, 2), keepdims=True) if self.centred_features else x

    def core(self, features, carry, reset):
        """One step of memory: features [B, F], reset [B] bool (episode starts here) -> [B, F'], carry."""
        if self.arch != "lstm":
            return features, carry
        carry = jax.tree.map(lambda c: jnp.where(reset[:, None], jnp.zeros_like(c), c), carry)
        carry, out = self.lstm(carry, features)
        return out, carry

    def heads(self, features):
        """features [..., F] -> logits [..., A], value [...]."""
        return self.policy(features), self.value(features)[..., 0]

    def __call__(self, obs, carry, reset):
        """One step for a batch: obs [B, ...], reset [B] -> logits [B, A], value [B], carry."""
        features, carry = self.core(self.torso(obs), carry, reset)
        logits, value = self.heads(features)
        return logits, value, carry


@dataclass(frozen=True)
class A3CNetworks:
    """Pure functions around one ActorCritic; `act` is jitted and samples inside JAX."""

    module: ActorCritic
    init: Callable[[jax.Array], Params]
    initial_carry: Callable[[int], Carry]
    act: Callable  # (params, obs [B, ...], carry, reset [B], key, greedy=False) -> action [B], carry, key
    unroll: Callable  # (params, obs [T, B, ...], carry, reset [T, B]) -> logits [T, B, A], value [T, B], carry


def network_options(config) -> dict:
    """The A3CConfig fields that shape the network, as make_networks keywords."""
    return dict(arch=config.arch, lstm_size=config.lstm_size, frame_norm=config.frame_norm,
                head_init=config.head_init, centred_features=config.centred_features)


def make_networks(obs_shape, obs_dtype, num_actions: int, arch: str = "ff",
                  lstm_size: int = 256, frame_norm: str = "centre",
                  head_init: str = "scaled", centred_features: bool = True) -> A3CNetworks:
    module = ActorCritic(num_actions=num_actions, arch=arch, lstm_size=lstm_size,
                         frame_norm=frame_norm, head_init=head_init,
                         centred_features=centred_features)

    def initial_carry(batch: int) -> Carry:
        if arch != "lstm":
            return ()
        zeros = jnp.zeros((batch, lstm_size), jnp.float32)
        return (zeros, zeros)

    def init(key):
        obs = jnp.zeros((1, *obs_shape), obs_dtype)
        return module.init(key, obs, initial_carry(1), jnp.zeros((1,), bool))

    @functools.partial(jax.jit, static_argnames="greedy")
    def act(params, obs, carry, reset, key, greedy=False):
        logits, _, carry = module.apply(params, obs, carry, reset)
        key, sample_key = jax.random.split(key)
        action = jnp.argmax(logits, -1) if greedy else jax.random.categorical(sample_key, logits)
        return action, carry, key

    def unroll(params, obs, carry, reset):
        # The torso runs on all T * B observations at once; only the LSTM core is sequential.
        t, b = reset.shape
        features = module.apply(params, obs.reshape(t * b, *obs.shape[2:]), method=ActorCritic.torso)
        features = features.reshape(t, b, -1)

        def step(carry, inputs):
            features_t, reset_t = inputs
            out, carry = module.apply(params, features_t, carry, reset_t, method=ActorCritic.core)
            return carry, out

        carry, features = jax.lax.scan(step, carry, (features, reset))
        logits, value = module.apply(params, features, method=ActorCritic.heads)
        return logits, value, carry

    return A3CNetworks(module, init, initial_carry, act, unroll)
