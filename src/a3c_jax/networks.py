"""The paper's actor-critics as linen modules, and the pure functions that act and learn with them."""
import functools
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from a3c_jax.conv import StridedConv, strided_conv

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


def centred_maps(x):
    """x [N, H, W, C] -> each channel minus its mean over the image (its own vjp, too).

    ReLU outputs are never negative, so every incoming weight of a unit in the next layer
    gets a gradient of one sign; Adam steps each by the learning rate, so the unit's
    input moves by lr * fan-in at once and it can die in a few updates. Centred inputs
    give mixed signs, as centred frames do for conv1 (whose filters then never die).
    """
    return x - x.mean(axis=(1, 2), keepdims=True)


class Activation(NamedTuple):
    """An activation, and its derivative at the input read from its output (ELU' = out + 1 below 0)."""
    fn: Callable
    slope_from_output: Callable


ACTIVATIONS = {"relu": Activation(nn.relu, lambda out: out > 0),
               "elu": Activation(nn.elu, lambda out: jnp.where(out > 0, 1.0, out + 1.0))}


def _conv_layer(p, x):
    return strided_conv(x, p["kernel"]) + p["bias"]


def _dense_layer(p, x):
    return x.reshape(x.shape[0], -1) @ p["kernel"] + p["bias"]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def replayed_torso(centred_features: bool, dense_activation: str, torso_params, x0, a1, a2, features):
    """The image torso's features [N, 256] from the layer outputs act already computed
    (ActorCritic.image_layers: a1, a2, features, with x0 = normalised_frames of the same
    obs [N, 84, 84, C]), with the params' gradient jax.grad of the torso gives, but
    without running the torso forward again. torso_params: {conv1, conv2, dense}."""
    return features


def _replayed_torso_fwd(centred_features, dense_activation, torso_params, x0, a1, a2, features):
    return features, (torso_params, x0, a1, a2, features)


def _replayed_torso_bwd(centred_features, dense_activation, residuals, d_features):
    p, x0, a1, a2, features = residuals
    centre = centred_maps if centred_features else (lambda x: x)
    grads, d_out = {}, d_features
    for name, layer, x, out, activation in (
            ("dense", _dense_layer, centre(a2), features, dense_activation),
            ("conv2", _conv_layer, centre(a1), a2, "relu"),
            ("conv1", _conv_layer, x0, a1, "relu")):
        # Each layer is linear before its activation, so its vjp needs only its input; XLA drops the
        # forward that jax.vjp traces, and conv1's input gradient.
        _, layer_vjp = jax.vjp(layer, p[name], x)
        grads[name], d_x = layer_vjp(d_out * ACTIVATIONS[activation].slope_from_output(out))
        d_out = centre(d_x)
    return grads, None, None, None, None


replayed_torso.defvjp(_replayed_torso_fwd, _replayed_torso_bwd)

TORSO_LAYERS = ("conv1", "conv2", "dense")

HEAD_NORMS = {"zero": (0.0, 0.0), "scaled": (0.01, 1.0)}  # (policy, value) weight norms per output


class ActorCritic(nn.Module):
    """torso -> (LSTM core) -> softmax policy and linear value heads.

    Images [B, C, H, W] uint8 (C stacked frames) go through the paper's torso:
    conv 16 8x8/4, conv 32 4x4/2, dense 256, each with ReLU (the dense layer: `dense_activation`),
    each frame first normalised as `frame_norm` says (normalised_frames) and, with
    `centred_features`, each conv feature map centred over the image before the next layer (centred).
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
    dense_activation: str = "relu"

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
            return self.image_layers(obs)[-1]
        x = obs.astype(jnp.float32)
        for layer in self.mlp:
            x = jnp.tanh(layer(x))
        return x

    def image_layers(self, obs):
        """obs [N, C, 84, 84] uint8 -> each torso layer's ReLU output: conv1 [N, 20, 20, 16],
        conv2 [N, 9, 9, 32], dense [N, 256] (the features). replayed_torso mirrors this."""
        a1 = nn.relu(self.conv1(normalised_frames(obs, self.frame_norm)))
        a2 = nn.relu(self.conv2(self.centred(a1)))
        activation = ACTIVATIONS[self.dense_activation].fn
        return a1, a2, activation(self.dense(self.centred(a2).reshape(a2.shape[0], -1)))

    def centred(self, x):
        """centred_maps when centred_features, else x unchanged."""
        return centred_maps(x) if self.centred_features else x

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
    # act for training: (params, obs, carry, reset, key) -> action, carry, key, layers, where
    # layers are ActorCritic.image_layers' outputs (each [B, ...]; () for vector observations)
    act_keeping_layers: Callable
    # (params, obs [T, B, ...], carry, reset [T, B], layers=()) -> logits [T, B, A], value [T, B],
    # carry; layers [T', B, ...] from act_keeping_layers stand in for the torso on obs[:T'].
    unroll: Callable


def network_options(config) -> dict:
    """The A3CConfig fields that shape the network, as make_networks keywords."""
    return dict(arch=config.arch, lstm_size=config.lstm_size, frame_norm=config.frame_norm,
                head_init=config.head_init, centred_features=config.centred_features,
                dense_activation=config.dense_activation)


def make_networks(obs_shape, obs_dtype, num_actions: int, arch: str = "ff",
                  lstm_size: int = 256, frame_norm: str = "centre",
                  head_init: str = "scaled", centred_features: bool = True,
                  dense_activation: str = "relu") -> A3CNetworks:
    module = ActorCritic(num_actions=num_actions, arch=arch, lstm_size=lstm_size,
                         frame_norm=frame_norm, head_init=head_init,
                         centred_features=centred_features, dense_activation=dense_activation)

    def initial_carry(batch: int) -> Carry:
        if arch != "lstm":
            return ()
        zeros = jnp.zeros((batch, lstm_size), jnp.float32)
        return (zeros, zeros)

    def init(key):
        obs = jnp.zeros((1, *obs_shape), obs_dtype)
        return module.init(key, obs, initial_carry(1), jnp.zeros((1,), bool))

    def policy_step(params, obs, carry, reset, key, greedy):
        images = obs.ndim == 4
        layers = module.apply(params, obs, method=ActorCritic.image_layers) if images else ()
        features = layers[-1] if images else module.apply(params, obs, method=ActorCritic.torso)
        features, carry = module.apply(params, features, carry, reset, method=ActorCritic.core)
        logits, _ = module.apply(params, features, method=ActorCritic.heads)
        key, sample_key = jax.random.split(key)
        action = jnp.argmax(logits, -1) if greedy else jax.random.categorical(sample_key, logits)
        return action, carry, key, layers

    @functools.partial(jax.jit, static_argnames="greedy")
    def act(params, obs, carry, reset, key, greedy=False):
        return policy_step(params, obs, carry, reset, key, greedy)[:3]

    @jax.jit
    def act_keeping_layers(params, obs, carry, reset, key):
        return policy_step(params, obs, carry, reset, key, False)

    def torso_features(params, obs, layers):
        """features [T, B, F] for obs [T, B, ...]; layers [T', B, ...] replace the torso on obs[:T']."""
        t, b = obs.shape[:2]
        flat = lambda x: x.reshape(-1, *x.shape[2:])  # [T, B, ...] -> [T * B, ...]
        known = layers[0].shape[0] if layers else 0
        features = []
        if known:
            torso_params = {name: params["params"][name] for name in TORSO_LAYERS}
            x0 = normalised_frames(flat(obs[:known]), frame_norm)
            features.append(replayed_torso(centred_features, dense_activation, torso_params, x0,
                                           *map(flat, layers)))
        if known < t:
            features.append(module.apply(params, flat(obs[known:]), method=ActorCritic.torso))
        return jnp.concatenate(features).reshape(t, b, -1)

    def unroll(params, obs, carry, reset, layers=()):
        # The torso runs on all T * B observations at once; only the LSTM core is sequential.
        features = torso_features(params, obs, layers)

        def step(carry, inputs):
            features_t, reset_t = inputs
            out, carry = module.apply(params, features_t, carry, reset_t, method=ActorCritic.core)
            return carry, out

        carry, features = jax.lax.scan(step, carry, (features, reset))
        logits, value = module.apply(params, features, method=ActorCritic.heads)
        return logits, value, carry

    return A3CNetworks(module, init, initial_carry, act, act_keeping_layers, unroll)
