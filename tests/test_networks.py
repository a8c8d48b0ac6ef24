import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from a3c_jax.config import A3CConfig
from a3c_jax.networks import ActorCritic, make_networks, network_options, normalised_frames
from a3c_jax.worker import Trajectory, make_grad_fn


def test_atari_ff_network_shapes_and_uint8_input():
    net = make_networks((4, 84, 84), np.uint8, num_actions=6, arch="ff")
    params = net.init(jax.random.PRNGKey(0))
    kernels = {k: v["kernel"].shape for k, v in params["params"].items()}
    # the paper's torso: conv 16 8x8/4 -> 20x20, conv 32 4x4/2 -> 9x9, dense 256
    assert kernels["conv1"] == (8, 8, 4, 16) and kernels["conv2"] == (4, 4, 16, 32)
    assert kernels["dense"] == (9 * 9 * 32, 256) and kernels["policy"] == (256, 6)
    obs = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    action, carry, key = net.act(params, obs, net.initial_carry(3), np.zeros(3, bool),
                                 jax.random.PRNGKey(1))
    assert action.shape == (3,) and carry == ()
    assert np.all((np.asarray(action) >= 0) & (np.asarray(action) < 6))


def test_frames_are_scaled_to_unit_range_and_centred_by_hand():
    # a frame half black (0) and half white (255): [0, 1] -> 0 and 1, mean 0.5 -> -0.5 and 0.5
    obs = np.zeros((1, 1, 84, 84), np.uint8)
    obs[..., 42:] = 255
    x = np.asarray(normalised_frames(obs, "centre"))  # [1, 84, 84, 1]
    np.testing.assert_allclose(x[0, :, :42, 0], -0.5, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 42:, 0], 0.5, rtol=1e-6)


def test_the_network_scales_uint8_frames_itself():
    """The torso on raw uint8 pixels equals its layers applied to frames scaled by hand, each
    conv feature map centred over the image before the next layer (centred_features)."""
    net = make_networks((4, 84, 84), np.uint8, num_actions=3, frame_norm="centre")
    params = net.init(jax.random.PRNGKey(0))
    obs = np.random.default_rng(0).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    x = obs.transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    x = x - x.mean(axis=(1, 2), keepdims=True)  # each of the 4 frames minus its mean

    def layers(module, x):
        x = nn.relu(module.conv1(x))
        x = x - x.mean(axis=(1, 2), keepdims=True)  # [N, 20, 20, 16]
        x = nn.relu(module.conv2(x))
        x = x - x.mean(axis=(1, 2), keepdims=True)  # [N, 9, 9, 32]
        return nn.relu(module.dense(x.reshape(x.shape[0], -1)))

    np.testing.assert_allclose(net.module.apply(params, obs, method=ActorCritic.torso),
                               net.module.apply(params, jnp.asarray(x), method=layers),
                               rtol=1e-4, atol=1e-5)


@jax.default_matmul_precision("highest")  # a GPU's default (TF32) differs by 1e-3 between routes
def test_lstm_unroll_equals_stepping_with_resets():
    """The learning route (torso over all steps, scanned core) equals acting one step at a time."""
    net = make_networks((5,), np.float32, num_actions=3, arch="lstm", lstm_size=8)
    params = net.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    t, b = 6, 2
    obs = rng.normal(size=(t, b, 5)).astype(np.float32)
    reset = np.zeros((t, b), bool)
    reset[3, 0] = True  # env 0 starts a new episode at step 3
    carry0 = jax.tree.map(lambda c: jnp.asarray(rng.normal(size=c.shape), jnp.float32),
                          net.initial_carry(b))
    logits, values, carry_t = net.unroll(params, obs, carry0, reset)
    carry = carry0
    for i in range(t):
        step_logits, step_value, carry = net.module.apply(params, obs[i], carry, reset[i])
        np.testing.assert_allclose(logits[i], step_logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(values[i], step_value, rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda a, b_: np.testing.assert_allclose(a, b_, rtol=1e-5, atol=1e-6), carry_t, carry)


def test_reset_forgets_the_past():
    net = make_networks((5,), np.float32, num_actions=3, arch="lstm", lstm_size=8)
    params = net.init(jax.random.PRNGKey(0))
    obs = np.ones((1, 5), np.float32)
    busy = jax.tree.map(lambda c: c + 3.0, net.initial_carry(1))
    features = net.module.apply(params, obs, method=ActorCritic.torso)

    def core(carry, reset):  # the heads start at zero, so compare what the LSTM outputs
        return net.module.apply(params, features, carry, np.array([reset]), method=ActorCritic.core)[0]

    fresh = core(net.initial_carry(1), False)
    after_reset, remembered = core(busy, True), core(busy, False)
    np.testing.assert_allclose(after_reset, fresh, rtol=1e-6)
    assert not np.allclose(remembered, fresh)


def test_greedy_acting_takes_the_argmax():
    net = make_networks((5,), np.float32, num_actions=4)
    params = net.init(jax.random.PRNGKey(0))
    policy = params["params"]["policy"]  # zero at init: give it weights so the argmax varies
    policy["kernel"] = jax.random.normal(jax.random.PRNGKey(1), policy["kernel"].shape)
    obs = np.random.default_rng(1).normal(size=(16, 5)).astype(np.float32)
    logits = net.module.apply(params, obs, (), np.zeros(16, bool))[0]
    action, _, _ = net.act(params, obs, (), np.zeros(16, bool), jax.random.PRNGKey(0), greedy=True)
    np.testing.assert_array_equal(action, np.argmax(logits, -1))
    assert len(set(np.asarray(action).tolist())) > 1


def test_fresh_network_has_uniform_policy_and_zero_value():
    """Zero-initialised heads (head_init="zero"): the first policy is uniform, the first value 0."""
    net = make_networks((4, 84, 84), np.uint8, num_actions=6, head_init="zero")
    params = net.init(jax.random.PRNGKey(3))
    obs = np.random.default_rng(0).integers(0, 256, (5, 4, 84, 84), dtype=np.uint8)
    logits, value, _ = net.module.apply(params, obs, (), np.zeros(5, bool))
    np.testing.assert_allclose(jax.nn.softmax(logits), np.full((5, 6), 1 / 6), rtol=1e-6)
    np.testing.assert_allclose(value, np.zeros(5), atol=1e-7)
    features = net.module.apply(params, obs, method=ActorCritic.torso)
    assert float(jnp.std(features)) > 0  # the torso itself is random, not zero


def test_scaled_heads_have_the_pytorch_a3cs_norms_and_mixed_signs():
    net = make_networks((4, 84, 84), np.uint8, num_actions=6, head_init="scaled")
    params = net.init(jax.random.PRNGKey(3))["params"]
    np.testing.assert_allclose(np.linalg.norm(params["policy"]["kernel"], axis=0), 0.01, rtol=1e-5)
    value = np.asarray(params["value"]["kernel"][:, 0])
    np.testing.assert_allclose(np.linalg.norm(value), 1.0, rtol=1e-5)
    # both signs: a ReLU torso's units are pushed different ways by the first value errors
    assert (value > 0).mean() > 0.3 and (value < 0).mean() > 0.3
    np.testing.assert_array_equal(params["value"]["bias"], 0.0)


def test_centred_features_give_conv2_and_dense_inputs_of_mixed_sign():
    net = make_networks((4, 84, 84), np.uint8, num_actions=6, centred_features=True)
    params = net.init(jax.random.PRNGKey(0))
    obs = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    _, state = net.module.apply(params, obs, method=ActorCritic.torso, capture_intermediates=True)
    conv1 = state["intermediates"]["conv1"]["__call__"][0]  # [3, 20, 20, 16] before its ReLU
    centred = np.asarray(net.module.apply(params, jax.nn.relu(conv1), method=ActorCritic.centred))
    np.testing.assert_allclose(centred.mean(axis=(1, 2)), 0.0, atol=1e-5)  # each map, each image
    assert (centred < 0).any() and (centred > 0).any()
    plain = make_networks((4, 84, 84), np.uint8, num_actions=6, centred_features=False)  # ReLU >= 0
    assert (np.asarray(plain.module.apply(params, jax.nn.relu(conv1), method=ActorCritic.centred)) >= 0).all()


def test_frames_are_centred_so_overall_brightness_does_not_matter():
    """A frame and the same frame 40 levels brighter give the same features and policy."""
    net = make_networks((4, 84, 84), np.uint8, num_actions=6)
    params = net.init(jax.random.PRNGKey(0))
    obs = np.random.default_rng(0).integers(0, 200, (2, 4, 84, 84), dtype=np.uint8)
    brighter = obs + np.uint8(40)
    features = net.module.apply(params, obs, method=ActorCritic.torso)
    np.testing.assert_allclose(net.module.apply(params, brighter, method=ActorCritic.torso),
                               features, atol=1e-5)
    assert float(jnp.std(features)) > 0


def test_std_frames_are_standardised_by_hand_and_blank_frames_stay_zero():
    # half 0, half 255: centred -0.5 and 0.5, std 0.5 -> -1 and 1; a blank frame has std 0 -> 0
    obs = np.zeros((1, 2, 84, 84), np.uint8)
    obs[0, 0, :, 42:] = 255
    x = np.asarray(normalised_frames(obs, "std"))  # [1, 84, 84, 2]
    np.testing.assert_allclose(x[0, :, :42, 0], -1.0, rtol=1e-5)
    np.testing.assert_allclose(x[0, :, 42:, 0], 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x[..., 1], 0.0)


def test_std_frames_make_contrast_not_matter():
    """A frame and the same frame at half the contrast give the same features."""
    net = make_networks((4, 84, 84), np.uint8, num_actions=6, frame_norm="std")
    params = net.init(jax.random.PRNGKey(0))
    obs = np.random.default_rng(0).integers(0, 128, (2, 4, 84, 84), dtype=np.uint8) * 2
    features = net.module.apply(params, obs, method=ActorCritic.torso)
    np.testing.assert_allclose(net.module.apply(params, obs // 2, method=ActorCritic.torso),
                               features, rtol=1e-4, atol=1e-4)
    assert float(jnp.std(features)) > 0



@jax.default_matmul_precision("highest")  # a GPU's default (TF32) differs by 1e-3 between routes
@pytest.mark.parametrize("arch, centred, frame_norm, dense", [
    ("ff", True, "std", "relu"), ("ff", False, "centre", "relu"), ("lstm", True, "std", "relu"),
    ("ff", True, "std", "elu")])
def test_the_update_reusing_the_acting_layers_gives_the_recomputed_gradient(arch, centred, frame_norm,
                                                                            dense):
    """A rollout's update takes the torso's outputs from acting (act_keeping_layers) instead of
    running the torso again: same outputs and the same params gradient as the plain unroll."""
    config = A3CConfig(arch=arch, centred_features=centred, frame_norm=frame_norm, t_max=3,
                       envs_per_worker=2, lstm_size=16, dense_activation=dense)
    net = make_networks((2, 84, 84), np.uint8, 6, **network_options(config))
    params = net.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    t, b = config.t_max, config.envs_per_worker
    obs = rng.integers(0, 256, (t + 1, b, 2, 84, 84), dtype=np.uint8)
    reset = np.zeros((t + 1, b), bool)
    reset[2, 1] = True  # env 1's episode ends at step 1
    carry, key, layers = net.initial_carry(b), jax.random.PRNGKey(1), []
    for i in range(t):  # acting records the layer outputs, one step at a time
        action, carry, key, step_layers = net.act_keeping_layers(params, obs[i], carry, reset[i], key)
        layers.append(step_layers)
    layers = tuple(np.stack(x) for x in zip(*layers))  # each [T, B, ...]
    assert [x.shape[2:] for x in layers] == [(20, 20, 16), (9, 9, 32), (256,)]
    traj = Trajectory(obs, reset, rng.integers(0, 6, (t, b)).astype(np.int32),
                      rng.normal(size=(t, b)).astype(np.float32), net.initial_carry(b))
    grad_fn = make_grad_fn(net, config)
    recomputed, recomputed_metrics = grad_fn(params, traj, jnp.float32(0.01))
    reused, reused_metrics = grad_fn(params, traj._replace(layers=layers), jnp.float32(0.01))
    np.testing.assert_allclose(reused_metrics["loss"], recomputed_metrics["loss"], rtol=1e-5)
    flat_reused, flat_recomputed = jax.tree.leaves(reused), jax.tree.leaves(recomputed)
    assert len(flat_reused) == len(flat_recomputed)
    for a, b_ in zip(flat_reused, flat_recomputed):
        assert float(jnp.abs(b_).max()) > 0  # every layer, the torso's included, has a gradient
        np.testing.assert_allclose(a, b_, rtol=1e-4, atol=1e-6 * float(jnp.abs(b_).max()))


@pytest.mark.parametrize("dense, alive", [("relu", False), ("elu", True)])
def test_an_elu_dense_unit_pushed_below_zero_still_learns(dense, alive):
    """Every dense unit's input pushed below zero (kernel 0, bias -2): ReLU units give no output and
    get no gradient, ELU units give ELU(-2) = -0.86 and still get one."""
    net = make_networks((2, 84, 84), np.uint8, num_actions=6, frame_norm="std", dense_activation=dense)
    params = net.init(jax.random.PRNGKey(0))
    params["params"]["dense"]["kernel"] = jnp.zeros_like(params["params"]["dense"]["kernel"])
    params["params"]["dense"]["bias"] = jnp.full(256, -2.0)
    obs = np.random.default_rng(0).integers(0, 256, (4, 2, 84, 84), dtype=np.uint8)
    value = lambda p: jnp.sum(net.module.apply(p, obs, net.initial_carry(4), np.zeros(4, bool))[1])
    features = net.module.apply(params, obs, method=ActorCritic.torso)
    grad = jax.grad(value)(params)["params"]["dense"]["kernel"]
    np.testing.assert_allclose(features, np.expm1(-2.0) if alive else 0.0, rtol=1e-5)
    assert (float(jnp.abs(grad).max()) > 0) == alive
