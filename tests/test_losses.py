import jax
import jax.numpy as jnp
import numpy as np

from a3c_jax.losses import a3c_loss_terms, gae_advantages, n_step_returns


def test_n_step_returns_cut_at_terminal():
    # the last step is terminal (discount 0), so the bootstrap value 10 is ignored:
    # G2 = 3 ; G1 = 2 + 0.9 * 3 = 4.7 ; G0 = 1 + 0.9 * 4.7 = 5.23
    returns = n_step_returns(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.9, 0.9, 0.0]), jnp.array(10.0))
    np.testing.assert_allclose(returns, [5.23, 4.7, 3.0], rtol=1e-6)


def test_n_step_returns_bootstrap_from_last_value():
    # G2 = 3 + 0.5 * 4 = 5 ; G1 = 2 + 0.5 * 5 = 4.5 ; G0 = 1 + 0.5 * 4.5 = 3.25
    returns = n_step_returns(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.5, 0.5, 0.5]), jnp.array(4.0))
    np.testing.assert_allclose(returns, [3.25, 4.5, 5.0], rtol=1e-6)


def test_gae_by_hand():
    # v = [0, 1, 2], gamma 1: delta0 = 1 + 1 - 0 = 2 ; delta1 = 1 + 2 - 1 = 2
    # A1 = 2 ; A0 = 2 + 0.5 * 2 = 3
    advantages = gae_advantages(jnp.array([1.0, 1.0]), jnp.array([1.0, 1.0]),
                                jnp.array([0.0, 1.0, 2.0]), 0.5)
    np.testing.assert_allclose(advantages, [3.0, 2.0], rtol=1e-6)


def test_gae_with_lambda_one_is_the_n_step_advantage():
    rng = np.random.default_rng(0)
    for _ in range(5):
        r_t = jnp.asarray(rng.normal(size=20), jnp.float32)
        discount_t = jnp.asarray(0.99 * (rng.random(20) > 0.2), jnp.float32)  # some terminals
        v_t = jnp.asarray(rng.normal(size=21), jnp.float32)
        gae = gae_advantages(r_t, discount_t, v_t, 1.0)
        n_step = n_step_returns(r_t, discount_t, v_t[-1]) - v_t[:-1]
        np.testing.assert_allclose(gae, n_step, rtol=1e-5, atol=1e-5)


def test_loss_terms_by_hand():
    # uniform policy over 2 actions: log pi = log 0.5
    # policy = -log(0.5) * 2 = 2 ln 2 ; value = (3 - 1)^2 = 4 ; entropy = ln 2
    policy, value, entropy = a3c_loss_terms(jnp.zeros((1, 2)), jnp.array([0]), jnp.array([2.0]),
                                            jnp.array([1.0]), jnp.array([3.0]))
    np.testing.assert_allclose([policy, value, entropy], [2 * np.log(2), 4.0, np.log(2)], rtol=1e-6)


def test_advantage_and_return_are_held_constant():
    def total(advantage, target):
        policy, value, _ = a3c_loss_terms(jnp.zeros((1, 2)), jnp.array([0]), advantage,
                                          jnp.array([1.0]), target)
        return policy + value

    grads = jax.grad(total, argnums=(0, 1))(jnp.array([2.0]), jnp.array([3.0]))
    np.testing.assert_array_equal(grads[0], [0.0])
    np.testing.assert_array_equal(grads[1], [0.0])


def test_policy_gradient_raises_log_prob_of_advantaged_action():
    def policy_loss(logits):
        return a3c_loss_terms(logits, jnp.array([1]), jnp.array([1.0]), jnp.zeros(1), jnp.zeros(1))[0]

    g = jax.grad(policy_loss)(jnp.zeros((1, 2)))
    # d/dlogits of -log softmax(l)[1] at uniform = softmax - onehot = [0.5, -0.5]
    np.testing.assert_allclose(g, [[0.5, -0.5]], rtol=1e-6)
