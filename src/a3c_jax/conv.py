"""The paper's strided convolutions (8x8/4 and 4x4/2), with a cheaper kernel gradient.

XLA's CPU backend computes the kernel gradient of a strided convolution slowly: for
the first layer it cost 5-8x the forward pass, most of A3C's time on the CPU. When the
kernel is twice the stride, the same gradient is one matrix product: regroup the input
into stride x stride blocks (space to depth) and the convolution becomes a 2x2 one,
whose kernel gradient is blocks^T @ (output gradient shifted by each of the 2x2 offsets).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_LAYOUT = ("NHWC", "HWIO", "NHWC")


def _conv(x, kernel):
    stride = kernel.shape[0] // 2
    return lax.conv_general_dilated(x, kernel, (stride, stride), "VALID", dimension_numbers=_LAYOUT)


def space_to_depth(x, block: int):
    """x [N, H, W, C] -> [N, H / block, W / block, block * block * C], channels ordered (row, col, C)."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // block, block, w // block, block, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h // block, w // block, block * block * c)


@jax.custom_vjp
def strided_conv(x, kernel):
    """VALID convolution with stride = kernel size / 2.

    x [N, H, W, C], kernel [2s, 2s, C, O] -> [N, (H - 2s) // s + 1, (W - 2s) // s + 1, O].
    """
    return _conv(x, kernel)


def _strided_conv_fwd(x, kernel):
    return _conv(x, kernel), (x, kernel)


def _strided_conv_bwd(residuals, d_out):
    x, kernel = residuals
    size, _, channels, features = kernel.shape
    s = size // 2
    _, out_h, out_w, _ = d_out.shape
    # Output (h, w) reads input blocks (h + p, w + q) for p, q in {0, 1}.
    blocks = space_to_depth(x[:, :s * (out_h + 1), :s * (out_w + 1)], s)  # [N, out_h + 1, out_w + 1, s*s*C]
    d_shifted = jnp.concatenate([jnp.pad(d_out, ((0, 0), (p, 1 - p), (q, 1 - q), (0, 0)))
                                 for p in range(2) for q in range(2)], -1)  # [N, out_h + 1, out_w + 1, 4*O]
    d_kernel = blocks.reshape(-1, s * s * channels).T @ d_shifted.reshape(-1, 4 * features)
    d_kernel = d_kernel.reshape(s, s, channels, 2, 2, features)  # (row, col, C, p, q, O)
    d_kernel = d_kernel.transpose(3, 0, 4, 1, 2, 5).reshape(size, size, channels, features)
    _, input_vjp = jax.vjp(lambda x: _conv(x, kernel), x)  # dropped by XLA when x is the observation
    return input_vjp(d_out)[0], d_kernel


strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


class StridedConv(nn.Module):
    """nn.Conv(features, (2s, 2s), (s, s), padding="VALID") with the same parameters, faster to train."""

    features: int
    kernel_size: int
    kernel_init: nn.initializers.Initializer = nn.initializers.xavier_uniform()

    @nn.compact
    def __call__(self, x):
        """x [N, H, W, C] -> [N, H', W', features]."""
        kernel = self.param("kernel", self.kernel_init,
                            (self.kernel_size, self.kernel_size, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return strided_conv(x, kernel) + bias
