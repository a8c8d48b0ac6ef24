import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from a3c_jax.conv import StridedConv, space_to_depth


def test_space_to_depth_groups_blocks():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    y = np.asarray(space_to_depth(jnp.asarray(x), 2))
    assert y.shape == (2, 2, 2, 12)
    # block (1, 0) of image 1: rows 2-3, cols 0-1, channels last
    np.testing.assert_array_equal(y[1, 1, 0], x[1, 2:4, 0:2].reshape(-1))


@pytest.mark.parametrize("shape, features, size", [
    ((3, 84, 84, 4), 16, 8),   # the paper's first layer: 8x8 stride 4
    ((3, 20, 20, 16), 32, 4),  # its second: 4x4 stride 2
    ((2, 23, 18, 3), 5, 4),    # sizes that leave rows and columns unused
])
@jax.default_matmul_precision("highest")  # a GPU's default (TF32) differs by 1e-2 between formulations
def test_strided_conv_matches_flax_conv_and_its_gradients(shape, features, size):
    """Same parameters, outputs and gradients (kernel, bias and input) as nn.Conv."""
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    ours = StridedConv(features, size)
    flax_conv = nn.Conv(features, (size, size), (size // 2, size // 2), padding="VALID")
    params = ours.init(jax.random.PRNGKey(1), x)
    flax_params = flax_conv.init(jax.random.PRNGKey(1), x)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_params)
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)

    def loss(module):
        return lambda params, x: jnp.sum(jnp.sin(module.apply(params, x)))  # a nonlinear loss

    np.testing.assert_allclose(ours.apply(params, x), flax_conv.apply(params, x), rtol=1e-5, atol=1e-5)
    grads = jax.jit(jax.grad(loss(ours), argnums=(0, 1)))(params, x)
    expected = jax.grad(loss(flax_conv), argnums=(0, 1))(params, x)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(jnp.abs(want).max()))
