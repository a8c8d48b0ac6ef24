import jax
import jax.numpy as jnp
import numpy as np
import pytest

from a3c_jax.losses import a3c_loss, a3c_loss_terms, gae_advantages


def n_step_returns(r_t, discount_t, bootstrap):
    """The paper's n-step return as a plain loop: G_t = r_t + discount_t G_{t+1}, G_T = bootstrap."""
    returns, g = [], bootstrap
    for r, discount in zip(reversed(r_t), reversed(discount_t)):
        g = r + discount * g
        returns.append(g)
    return np.array(returns[::-1])


def test_lambda_one_cuts_the_return_at_a_terminal():
    # the last step is terminal (discount 0), so the bootstrap value 10 is ignored:
    # G2 = 3 ; G1 = 2 + 0.9 * 3 = 4.7 ; G0 = 1 + 0.9 * 4.7 = 5.23 ; A_t = G_t - v_t, v = 0
    advantages = gae_advantages(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.9, 0.9, 0.0]),
                                jnp.array([0.0, 0.0, 0.0, 10.0]), 1.0)
    np.testing.assert_allclose(advantages, [5.23, 4.7, 3.0], rtol=1e-6)


def test_lambda_one_bootstraps_from_the_last_value():
    # v = [1, 1, 1, 4]: G2 = 3 + 0.5 * 4 = 5 ; G1 = 2 + 0.5 * 5 = 4.5 ; G0 = 1 + 0.5 * 4.5 = 3.25
    advantages = gae_advantages(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.5, 0.5, 0.5]),
                                jnp.array([1.0, 1.0, 1.0, 4.0]), 1.0)
    np.testing.assert_allclose(advantages, [2.25, 3.5, 4.0], rtol=1e-6)


def test_gae_by_hand():
    # v = [0, 1, 2], gamma 1: delta0 = 1 + 1 - 0 = 2 ; delta1 = 1 + 2 - 1 = 2
    # A1 = 2 ; A0 = 2 + 0.5 * 2 = 3
    advantages = gae_advantages(jnp.array([1.0, 1.0]), jnp.array([1.0, 1.0]),
                                jnp.array([0.0, 1.0, 2.0]), 0.5)
    np.testing.assert_allclose(advantages, [3.0, 2.0], rtol=1e-6)


def test_gae_with_lambda_one_is_the_n_step_advantage():
    rng = np.random.default_rng(0)
    for _ in range(5):
        r_t = rng.normal(size=20).astype(np.float32)
        discount_t = (0.99 * (rng.random(20) > 0.2)).astype(np.float32)  # some terminals
        v_t = rng.normal(size=21).astype(np.float32)
        gae = gae_advantages(jnp.asarray(r_t), jnp.asarray(discount_t), jnp.asarray(v_t), 1.0)
        np.testing.assert_allclose(gae, n_step_returns(r_t, discount_t, v_t[-1]) - v_t[:-1],
                                   rtol=1e-5, atol=1e-5)


def test_shapes_are_checked():
    with pytest.raises(AssertionError):  # v_t must hold one value more than the steps
        gae_advantages(jnp.ones(3), jnp.ones(3), jnp.ones(3), 1.0)
    with pytest.raises(AssertionError):
        a3c_loss(jnp.zeros((2, 2, 3)), jnp.zeros((2, 2)), jnp.zeros((2, 2), jnp.int32),
                 jnp.zeros((2, 2)), jnp.zeros((2, 2)), gae_lambda=1.0, value_coef=0.5,
                 entropy_beta=0.01)


# Two envs, two steps, uniform policies over 2 actions (logits 0), gamma 0.5. Env 1's
# episode ends at step 0 (a reset in the middle of its rollout), so its discount is 0 there.
#   r    = [[1, 2], [3, 4]]      (rows: steps, columns: envs)
#   disc = [[0.5, 0], [0.5, 0.5]]
#   v    = [[1, 2], [0, 1], [2, 3]]   (the last row bootstraps)
R_T = jnp.array([[1.0, 2.0], [3.0, 4.0]])
DISCOUNT_T = jnp.array([[0.5, 0.0], [0.5, 0.5]])
V_T = jnp.array([[1.0, 2.0], [0.0, 1.0], [2.0, 3.0]])
A_T = jnp.array([[0, 1], [1, 0]])


def loss_by_hand_inputs(gae_lambda):
    return dict(logits_t=jnp.zeros((2, 2, 2)), v_t=V_T, a_t=A_T, r_t=R_T, discount_t=DISCOUNT_T,
                gae_lambda=gae_lambda, value_coef=0.5, entropy_beta=0.01)


def test_a3c_loss_by_hand_with_a_reset_in_one_rollout():
    # lambda 1: n-step returns.
    #   env 0: G1 = 3 + 0.5 * 2 = 4 ; G0 = 1 + 0.5 * 4 = 3 ; A = G - v = [3 - 1, 4 - 0] = [2, 4]
    #   env 1: G1 = 4 + 0.5 * 3 = 5.5 ; G0 = 2 + 0 * 5.5 = 2 (cut) ; A = [2 - 2, 5.5 - 1] = [0, 4.5]
    # policy = -sum A log 0.5 = (2 + 4 + 0 + 4.5) ln 2 = 10.5 ln 2
    # value = sum A^2 = 4 + 16 + 0 + 20.25 = 40.25 ; entropy = 4 ln 2
    # loss = 10.5 ln 2 + 0.5 * 40.25 - 0.01 * 4 ln 2 = 10.46 ln 2 + 20.125
    loss, metrics = a3c_loss(**loss_by_hand_inputs(1.0))
    ln2 = np.log(2.0)
    np.testing.assert_allclose(metrics["policy_loss"], 10.5 * ln2, rtol=1e-6)
    np.testing.assert_allclose(metrics["value_loss"], 40.25, rtol=1e-6)
    np.testing.assert_allclose(metrics["entropy"], 4 * ln2, rtol=1e-6)
    np.testing.assert_allclose(loss, 10.46 * ln2 + 20.125, rtol=1e-6)


def test_a3c_loss_by_hand_with_lambda_below_one():
    # lambda 0.5; delta_t = r_t + disc_t v_{t+1} - v_t, A_t = delta_t + disc_t * 0.5 * A_{t+1}
    #   env 0: delta1 = 3 + 0.5 * 2 - 0 = 4 ; delta0 = 1 + 0.5 * 0 - 1 = 0
    #          A1 = 4 ; A0 = 0 + 0.5 * 0.5 * 4 = 1
    #   env 1: delta1 = 4 + 0.5 * 3 - 1 = 4.5 ; delta0 = 2 + 0 * 1 - 2 = 0
    #          A1 = 4.5 ; A0 = 0 + 0 * 0.5 * 4.5 = 0 (cut)
    # policy = (1 + 4 + 0 + 4.5) ln 2 = 9.5 ln 2 ; value = 1 + 16 + 0 + 20.25 = 37.25
    loss, metrics = a3c_loss(**loss_by_hand_inputs(0.5))
    ln2 = np.log(2.0)
    np.testing.assert_allclose(metrics["policy_loss"], 9.5 * ln2, rtol=1e-6)
    np.testing.assert_allclose(metrics["value_loss"], 37.25, rtol=1e-6)
    np.testing.assert_allclose(loss, 9.5 * ln2 + 0.5 * 37.25 - 0.04 * ln2, rtol=1e-6)


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


def test_value_gradient_is_the_advantage_and_the_bootstrap_gets_none():
    # d value_loss / d v_t = -2 (G_t - v_t) = -2 A_t for the T values the loss fits;
    # the bootstrap value V(s_T) only enters the held-constant returns: gradient 0
    def value_loss(v_t):
        return a3c_loss(**{**loss_by_hand_inputs(1.0), "v_t": v_t})[1]["value_loss"]

    grads = jax.grad(value_loss)(V_T)
    np.testing.assert_allclose(grads, [[-4.0, 0.0], [-8.0, -9.0], [0.0, 0.0]], rtol=1e-6)


def test_policy_gradient_raises_log_prob_of_advantaged_action():
    def policy_loss(logits):
        return a3c_loss_terms(logits, jnp.array([1]), jnp.array([1.0]), jnp.zeros(1), jnp.zeros(1))[0]

    g = jax.grad(policy_loss)(jnp.zeros((1, 2)))
    # d/dlogits of -log softmax(l)[1] at uniform = softmax - onehot = [0.5, -0.5]
    np.testing.assert_allclose(g, [[0.5, -0.5]], rtol=1e-6)
