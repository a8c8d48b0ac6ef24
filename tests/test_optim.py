import jax.numpy as jnp
import numpy as np
import optax

from a3c_jax import A3CConfig, shared_adam, shared_rmsprop
from a3c_jax.optim import (average_params, averaged_params, entropy_beta_schedule,
                           learning_rate_schedule, make_optimizer)


def test_eps_goes_inside_the_square_root():
    # g starts at 0: g = 0.01 * 3^2 = 0.09 ; update = -0.1 * 3 / sqrt(0.09 + 0.1) = -0.688247
    opt = shared_rmsprop(0.1, decay=0.99, eps=0.1)
    params = {"w": jnp.zeros(1)}
    updates, _ = opt.update({"w": jnp.array([3.0])}, opt.init(params))
    np.testing.assert_allclose(updates["w"], [-0.3 / np.sqrt(0.19)], rtol=1e-6)


def test_shared_rmsprop_matches_numpy_for_50_steps():
    rng = np.random.default_rng(0)
    lr, decay, eps = 7e-4, 0.99, 0.1
    theta = rng.normal(size=(3, 4)).astype(np.float32)
    params = {"w": jnp.asarray(theta)}
    opt = shared_rmsprop(lr, decay, eps)
    state = opt.init(params)
    g = np.zeros_like(theta)
    for _ in range(50):
        d = rng.normal(size=theta.shape).astype(np.float32)
        g = decay * g + (1 - decay) * d ** 2
        theta = theta - lr * d / np.sqrt(g + eps)
        updates, state = opt.update({"w": jnp.asarray(d)}, state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(params["w"], theta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.g["w"], g, rtol=1e-5)
    assert int(state.count) == 50


def test_learning_rate_reaches_zero_at_max_frames():
    config = A3CConfig(learning_rate=1e-3, max_frames=1000, lr_anneal_frames=-1)
    schedule = learning_rate_schedule(config, frames_per_update=20)  # 50 updates to the end
    np.testing.assert_allclose(schedule(0), 1e-3)
    np.testing.assert_allclose(schedule(25), 5e-4, rtol=1e-6)
    assert float(schedule(50)) == 0.0
    assert float(schedule(80)) == 0.0


def test_learning_rate_anneals_over_its_own_horizon_or_stays_constant():
    own = learning_rate_schedule(A3CConfig(learning_rate=1e-3, max_frames=10**9,
                                           lr_anneal_frames=400), frames_per_update=20)
    np.testing.assert_allclose(own(10), 5e-4, rtol=1e-6)  # 20 updates to zero, half way
    assert float(own(20)) == 0.0
    constant = learning_rate_schedule(A3CConfig(learning_rate=1e-3, max_frames=1000,
                                                lr_anneal_frames=0), frames_per_update=20)
    np.testing.assert_allclose([constant(0), constant(50), constant(10**6)], [1e-3] * 3)


def test_learning_rate_can_stop_falling_at_a_fraction_of_itself():
    floored = learning_rate_schedule(A3CConfig(learning_rate=1e-3, lr_anneal_frames=400,
                                               final_lr_fraction=0.25), frames_per_update=20)
    # 20 updates to the floor; half way: 1e-3 + 0.5 * (2.5e-4 - 1e-3) = 6.25e-4
    np.testing.assert_allclose([floored(0), floored(10), floored(20), floored(10**6)],
                               [1e-3, 6.25e-4, 2.5e-4, 2.5e-4], rtol=1e-6)


def test_entropy_bonus_falls_to_its_final_value_over_its_frames_after_its_hold_or_stays_constant():
    falling = entropy_beta_schedule(A3CConfig(entropy_beta=0.01, final_entropy_beta=0.0025,
                                              entropy_anneal_frames=6_000),
                                    frames_per_update=20)  # 300 updates to the end
    # half way: 0.01 + 0.5 * (0.0025 - 0.01) = 0.00625
    np.testing.assert_allclose([falling(0), falling(150), falling(300), falling(10**6)],
                               [0.01, 0.00625, 0.0025, 0.0025], rtol=1e-6)
    held = entropy_beta_schedule(A3CConfig(entropy_beta=0.01, final_entropy_beta=0.0025,
                                           entropy_anneal_frames=6_000, entropy_hold_frames=2_000),
                                 frames_per_update=20)  # 100 updates held, then 300 falling
    np.testing.assert_allclose([held(0), held(100), held(250), held(400), held(10**6)],
                               [0.01, 0.01, 0.00625, 0.0025, 0.0025], rtol=1e-6)
    constant = entropy_beta_schedule(A3CConfig(entropy_beta=0.01), frames_per_update=20)
    np.testing.assert_allclose([constant(0), constant(10**6)], [0.01, 0.01])


def test_updates_stop_once_the_frame_budget_is_spent():
    optimizer = make_optimizer(A3CConfig(max_frames=100, learning_rate=0.1, lr_anneal_frames=-1),
                               frames_per_update=20)
    params = {"w": jnp.ones(2)}
    state = optimizer.init(params)
    for _ in range(5):
        updates, state = optimizer.update({"w": jnp.ones(2)}, state, params)
        assert float(jnp.abs(updates["w"]).max()) > 0
        params = optax.apply_updates(params, updates)
    updates, state = optimizer.update({"w": jnp.ones(2)}, state, params)
    np.testing.assert_array_equal(updates["w"], [0.0, 0.0])


def test_gradient_clipping_by_global_norm():
    optimizer = make_optimizer(A3CConfig(max_grad_norm=1.0, optimizer="rmsprop"), frames_per_update=20)
    big, clipped = {"w": jnp.array([30.0, 40.0])}, {"w": jnp.array([0.6, 0.8])}  # norm 50 -> 1
    params = {"w": jnp.zeros(2)}
    u_big, _ = optimizer.update(big, optimizer.init(params), params)
    u_small, _ = optimizer.update(clipped, optimizer.init(params), params)
    np.testing.assert_allclose(u_big["w"], u_small["w"], rtol=1e-5)


def test_shared_adam_matches_optax_adam():
    params = {"w": jnp.array([1.0, -2.0])}
    ours, ref = shared_adam(1e-2), optax.adam(1e-2)
    s1, s2 = ours.init(params), ref.init(params)
    for step in range(10):
        grads = {"w": jnp.array([0.5, -1.5]) * (step + 1)}
        u1, s1 = ours.update(grads, s1, params)
        u2, s2 = ref.update(grads, s2, params)
        np.testing.assert_allclose(u1["w"], u2["w"], rtol=1e-6)


def run_average(fraction, steps):
    """The params after each of `steps` updates of -1 from 0, and the average kept."""
    opt = optax.chain(optax.sgd(1.0), average_params(fraction))
    params = {"w": jnp.zeros(2)}
    state = opt.init(params)
    for _ in range(steps):
        updates, state = opt.update({"w": jnp.ones(2)}, state, params)
        params = optax.apply_updates(params, updates)
    return params, averaged_params(state)


def test_the_params_average_of_fraction_1_is_the_mean_of_all_updates():
    params, average = run_average(1.0, 4)  # params -1, -2, -3, -4 after the updates
    np.testing.assert_allclose(params["w"], [-4.0, -4.0])
    np.testing.assert_allclose(average["w"], [-2.5, -2.5], rtol=1e-6)


def test_the_params_average_weights_the_last_fraction_of_updates():
    eta, steps = 1 / 0.1 - 1, 400
    expected = 0.0
    for t in range(1, steps + 1):
        w = (eta + 1) / (t + eta)
        expected = (1 - w) * expected + w * -float(t)
    _, average = run_average(0.1, steps)
    np.testing.assert_allclose(average["w"], [expected] * 2, rtol=1e-5)
    assert -400 < expected < -360  # about the last 10% of the updates: a lag near 40


def test_make_optimizer_keeps_a_params_average_unless_it_is_0():
    params = {"w": jnp.zeros(3)}
    kept = make_optimizer(A3CConfig(param_average=0.1), frames_per_update=20).init(params)
    np.testing.assert_array_equal(averaged_params(kept)["w"], params["w"])
    assert averaged_params(make_optimizer(A3CConfig(param_average=0.0), 20).init(params)) is None
