"""Counts the ReLU units of an Atari checkpoint's torso that never fire on mid-game frames.

    python experiments/dead_units.py runs/pong-experiment/checkpoints/Pong_16472320
    python experiments/dead_units.py --init        # a freshly initialised network (--game, default Pong)

Plays 300 steps in 8 training games with the checkpoint's own policy, then reads the
activations of the library's torso on the next 8 x 20 frames. A unit counts as dead when
it is not positive at any position of any of those frames: a ReLU unit then gets no gradient
either (an ELU one, `--dense-activation elu`, still does). It also says how many dense units
have a positive weight into the value head, among those that never fire and those that do:
early value errors push down every unit whose value weight is positive.
"""
import argparse

import jax
import numpy as np
from flax import serialization

from a3c_jax import A3CConfig, checkpoint
from a3c_jax.envs import agent_reset, make_envs, resolve_game
from a3c_jax.networks import ActorCritic, make_networks, network_options

NUM_ENVS, BURN_IN, FRAMES = 8, 300, 20


def pre_activations(networks, params, obs) -> dict:
    """obs [N, 4, 84, 84] uint8 -> each torso layer's output before its ReLU, by layer name."""
    _, state = networks.module.apply(params, obs, method=ActorCritic.torso,
                                     capture_intermediates=True)
    return {name: np.asarray(calls["__call__"][0])
            for name, calls in state["intermediates"].items() if "__call__" in calls}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--init", action="store_true", help="count for a fresh network (seed 0)")
    parser.add_argument("--game", default="Pong", help="the game for --init (a checkpoint names its own)")
    args = parser.parse_args()
    if not args.init and args.checkpoint is None:
        parser.error("give a checkpoint path or --init")
    ckpt = None if args.init else checkpoint.load(args.checkpoint)
    config = ckpt.config if ckpt else A3CConfig()
    game = resolve_game(config.game if ckpt else args.game)
    env = make_envs(game, list(range(1, NUM_ENVS + 1)), training=True,
                    frame_stack=config.frames_per_observation)
    networks = make_networks(env.single_observation_space.shape, np.uint8,
                             int(env.single_action_space.n), **network_options(config))
    params = networks.init(jax.random.PRNGKey(0))
    if ckpt:
        params = serialization.from_state_dict(params, ckpt.params)
    obs, _ = env.reset(seed=1)
    carry, reset, key = networks.initial_carry(NUM_ENVS), np.ones(NUM_ENVS, bool), jax.random.PRNGKey(1)
    frames = []
    for step in range(BURN_IN + FRAMES):
        action, carry, key = networks.act(params, obs, carry, reset, key)
        obs, _, terminated, truncated, info = env.step(np.asarray(action))
        reset = agent_reset(terminated, truncated, info)
        if step >= BURN_IN:
            frames.append(obs)
    env.close()
    fired = {}  # layer name -> [units] bool
    for name, units in pre_activations(networks, params, np.concatenate(frames)).items():
        fired[name] = (units > 0).reshape(-1, units.shape[-1]).any(0)
        print(f"{name}: {int((~fired[name]).sum())} of {fired[name].size} units never fire")
    if config.arch == "ff":  # the value head reads the dense units themselves
        value_weight = np.asarray(params["params"]["value"]["kernel"])[:, 0]  # [256]
        dead, alive = value_weight[~fired["dense"]], value_weight[fired["dense"]]
        print(f"dense units with a positive value weight: {int((dead > 0).sum())} of those that "
              f"never fire, {int((alive > 0).sum())} of those that do")


if __name__ == "__main__":
    main()
