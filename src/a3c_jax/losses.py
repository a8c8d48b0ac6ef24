"""A3C's returns and loss terms: pure functions over one trajectory of T steps.

Batch them with `jax.vmap` over a trailing batch axis at the call site.
`discount_t` is gamma * (1 - done_t): zero where step t ended the episode, which
cuts the return there instead of bootstrapping across episodes.
"""
import jax
import jax.numpy as jnp


def n_step_returns(r_t, discount_t, bootstrap_value):
    """G_t = r_t + discount_t * G_{t+1}, with G_T = V(s_T).

    r_t, discount_t: [T]; bootstrap_value: [] -> G_t [T].
    """
    def backward(g_next, inputs):
        r, discount = inputs
        g = r + discount * g_next
        return g, g

    _, returns = jax.lax.scan(backward, bootstrap_value, (r_t, discount_t), reverse=True)
    return returns


def gae_advantages(r_t, discount_t, v_t, lambda_):
    """GAE(lambda): A_t = delta_t + discount_t * lambda * A_{t+1}, delta_t = r_t + discount_t v_{t+1} - v_t.

    r_t, discount_t: [T]; v_t: [T + 1] (the last entry is V(s_T)) -> A_t [T].
    With lambda = 1 this equals n_step_returns(r_t, discount_t, v_t[-1]) - v_t[:-1].
    """
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
      value:    sum_t (G_t - v_t)^2   (G_t held constant; the config's value_coef halves it)
      entropy:  sum_t H(pi(. | s_t))
    """
    log_pi = jax.nn.log_softmax(logits_t)
    log_pi_a = jnp.take_along_axis(log_pi, a_t[:, None], axis=-1)[:, 0]
    policy = -jnp.sum(log_pi_a * jax.lax.stop_gradient(advantage_t))
    value = jnp.sum(jnp.square(jax.lax.stop_gradient(return_t) - v_t))
    entropy = -jnp.sum(jnp.exp(log_pi) * log_pi)
    return policy, value, entropy
