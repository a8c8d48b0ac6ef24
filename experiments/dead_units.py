"""Counts the ReLU units of a Pong checkpoint's torso that never fire on mid-game frames.

    python experiments/dead_units.py runs/pong-experiment/checkpoints/Pong_16472320
    python experiments/dead_units.py --init        # a freshly initialised network

Plays 300 steps in 8 training games with the checkpoint's own policy, then reads the
activations on the next 8 x 20 frames. A conv filter counts as dead when it is not
positive at any position of any of those frames: it then gets no gradient either.
"""
import argparse

import flax.linen as nn
import jax
import numpy as np
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.envs import AtariTrainingVectorEnv
from a3c_jax.networks import ActorCritic, centred_frames, make_networks

NUM_ENVS, BURN_IN, FRAMES = 8, 300, 20


def torso_activations(module: ActorCritic, obs):
    """obs [N, 4, 84, 84] uint8 -> conv1 [N, 20, 20, 16], conv2 [N, 9, 9, 32], dense [N, 256]."""
    conv1 = nn.relu(module.conv1(centred_frames(obs)))
    conv2 = nn.relu(module.conv2(conv1))
    return conv1, conv2, nn.relu(module.dense(conv2.reshape(conv2.shape[0], -1)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--init", action="store_true", help="count for a fresh network (seed 0)")
    args = parser.parse_args()
    if not args.init and args.checkpoint is None:
        parser.error("give a checkpoint path or --init")
    env = AtariTrainingVectorEnv("Pong", NUM_ENVS)
    networks = make_networks(env.single_observation_space.shape, np.uint8,
                             int(env.single_action_space.n))
    params = networks.init(jax.random.PRNGKey(0))
    if not args.init:
        params = serialization.from_state_dict(params, checkpoint.load(args.checkpoint).params)
    obs, _ = env.reset(seed=1)
    reset, key, frames = np.ones(NUM_ENVS, bool), jax.random.PRNGKey(1), []
    for step in range(BURN_IN + FRAMES):
        action, _, key = networks.act(params, obs, (), reset, key)
        obs, _, terminated, truncated, _ = env.step(np.asarray(action))
        reset = terminated | truncated
        if step >= BURN_IN:
            frames.append(obs)
    env.close()
    layers = networks.module.apply(params, np.concatenate(frames), method=torso_activations)
    for name, units in zip(("conv1", "conv2", "dense"), layers):
        fired = np.asarray(units > 0).reshape(-1, units.shape[-1]).any(0)
        print(f"{name}: {int((~fired).sum())} of {fired.size} units never fire")


if __name__ == "__main__":
    main()
