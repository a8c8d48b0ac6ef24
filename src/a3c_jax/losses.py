"""A3C's advantages and loss: pure functions of arrays, shapes checked with chex.

Index convention (rlax's): for a rollout of T steps, `r_t`, `discount_t` and `a_t` belong
to step t (taken in state s_t), `v_t` holds V(s_0) ... V(s_T), one more than the steps,
the last being the bootstrap value. `discount_t` is gamma * (1 - done_t): zero where step
t ended the episode, which cuts the return there instead of bootstrapping across episodes.
"""
import chex
import jax
import jax.numpy as jnp


def gae_advantages(r_t, discount_t, v_t, lambda_):
    """GAE(lambda): A_t = delta_t + discount_t * lambda * A_{t+1}, delta_t = r_t + discount_t v_{t+1} - v_t.

    r_t, discount_t: [T]; v_t: [T + 1] -> A_t [T]. With lambda = 1, A_t + v_t is the
    paper's n-step return G_t = r_t + discount_t G_{t+1}, G_T = v_T.
    """
    chex.assert_rank([r_t, discount_t, v_t], 1)
    chex.assert_equal_shape([r_t, discount_t, v_t[1:]])
    delta_t = r_t + discount_t * v_t[1:] - v_t[:-1]

    def backward(a_next, inputs):
        delta, discount = inputs
        a = delta + discount * lambda_ * a_next
        return a, a

    _, advantages = jax.lax.scan(backward, jnp.zeros_like(delta_t[0]), (delta_t, discount_t),
                                 reverse=True)
    return advantages


def a3c_loss_terms(logits_t, a_t, advantage_t, v_t, return_t):
    """The paper's three terms, summed over the T steps of one rollout.

    logits_t [T, A], a_t [T] int, advantage_t [T] (held constant), v_t [T], return_t [T] ->
      policy:  -sum_t log pi(a_t | s_t) * stop_gradient(A_t)
      value:    sum_t (G_t - v_t)^2   (G_t held constant)
      entropy:  sum_t H(pi(. | s_t))
    """
    chex.assert_rank([logits_t, a_t, advantage_t, v_t, return_t], [2, 1, 1, 1, 1])
    chex.assert_equal_shape([a_t, advantage_t, v_t, return_t, logits_t[:, 0]])
    log_pi = jax.nn.log_softmax(logits_t)
    log_pi_a = jnp.take_along_axis(log_pi, a_t[:, None], axis=-1)[:, 0]
    policy = -jnp.sum(log_pi_a * jax.lax.stop_gradient(advantage_t))
    value = jnp.sum(jnp.square(jax.lax.stop_gradient(return_t) - v_t))
    entropy = -jnp.sum(jnp.exp(log_pi) * log_pi)
    return policy, value, entropy


def a3c_loss(logits_t, v_t, a_t, r_t, discount_t, *, gae_lambda: float, value_coef: float,
             entropy_beta: float):
    """The A3C loss of a batch of B rollouts of T steps, summed over steps and rollouts.

    logits_t [T, B, A]: the policy's logits at s_0 ... s_{T-1};
    v_t [T + 1, B]: V(s_0) ... V(s_T), the last the bootstrap value;
    a_t [T, B] int, r_t [T, B], discount_t [T, B] -> (loss [], metrics).

    loss = policy + value_coef * value - entropy_beta * entropy, each term summed over the
    T steps and the B rollouts (a3c_loss_terms), with GAE(gae_lambda) advantages (1 gives
    the paper's n-step advantage). Summing over B makes one update carry the gradients of
    B one-env rollouts, as B of the paper's threads would. metrics: loss, policy_loss,
    value_loss, entropy.
    """
    chex.assert_rank([logits_t, v_t, a_t, r_t, discount_t], [3, 2, 2, 2, 2])
    chex.assert_equal_shape([logits_t[..., 0], v_t[:-1], a_t, r_t, discount_t])
    advantage_t = jax.vmap(gae_advantages, in_axes=(1, 1, 1, None), out_axes=1)(
        r_t, discount_t, v_t, gae_lambda)  # [T, B]
    return_t = advantage_t + v_t[:-1]  # [T, B]
    policy, value, entropy = jax.vmap(a3c_loss_terms, in_axes=1)(
        logits_t, a_t, advantage_t, v_t[:-1], return_t)  # each [B]
    policy, value, entropy = policy.sum(), value.sum(), entropy.sum()
    loss = policy + value_coef * value - entropy_beta * entropy
    return loss, dict(loss=loss, policy_loss=policy, value_loss=value, entropy=entropy)
