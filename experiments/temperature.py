"""How much of a checkpoint's sampled score is lost to the softness of its policy.

    python experiments/temperature.py runs/pong-experiment/checkpoints/Pong_5500800 --taus 1 0.75 0.5

Plays --episodes whole games (game i seeded i, as `a3c_jax.evaluate`) sampling each action
from softmax(logits / tau) for each temperature tau: tau 1 is the evaluation's sampled
policy, tau -> 0 its greedy one. Prints per tau the mean score and the policy's entropy per
step (at tau 1). A score that rises as tau falls means the points are lost to sampling noise
in a policy that already ranks the actions right.

It also says where the points are lost: in how many games the opponent won the first
point (the first nonzero reward is negative) and how many of its points came later.
"""
import argparse

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from a3c_jax import checkpoint
from a3c_jax.envs import make_envs, resolve_game
from a3c_jax.evaluation_run import load_agent, play_game


class LostPoints(gym.vector.VectorWrapper):
    """Notes, for the game being played, the index of each point (nonzero reward) the agent lost."""

    def reset(self, **kwargs):
        self.points, self.lost = 0, []
        return self.env.reset(**kwargs)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        if reward[0] != 0:
            if reward[0] < 0:
                self.lost.append(self.points)
            self.points += 1
        return obs, reward, terminated, truncated, info


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--taus", type=float, nargs="+", default=[1.0, 0.75, 0.5])
    parser.add_argument("--episodes", type=int, default=30)
    args = parser.parse_args()
    ckpt = checkpoint.load(args.checkpoint)
    networks, params = load_agent(ckpt)

    @jax.jit
    def policy(obs, carry, reset, key, tau):
        """obs [1, ...] -> action [1], its entropy at tau 1 [], carry, key."""
        logits, _, carry = networks.module.apply(params, obs, carry, reset)
        key, sample_key = jax.random.split(key)
        log_pi = jax.nn.log_softmax(logits)
        entropy = -jnp.sum(jnp.exp(log_pi) * log_pi)
        return jax.random.categorical(sample_key, logits / tau), entropy, carry, key

    env = LostPoints(make_envs(resolve_game(ckpt.config.game), [0], training=False,
                               frame_stack=ckpt.config.frames_per_observation))
    print(f"{args.checkpoint}: {ckpt.frames:,} frames trained, {args.episodes} games per tau")
    for tau in args.taus:
        scores, entropies, first_lost, later_lost = [], [], 0, 0
        for episode in range(args.episodes):
            carry, key = networks.initial_carry(1), jax.random.PRNGKey(episode)

            def act(obs, reset):
                nonlocal carry, key
                action, entropy, carry, key = policy(obs, carry, reset, key, tau)
                entropies.append(float(entropy))
                return action

            scores.append(play_game(env, act, episode)[0])
            lost_first = env.lost[:1] == [0]
            first_lost += lost_first
            later_lost += len(env.lost) - lost_first
        print(f"tau {tau:g}: mean {np.mean(scores):.2f} +- {np.std(scores):.2f} "
              f"(min {min(scores):g}, max {max(scores):g}) | entropy per step {np.mean(entropies):.3f} | "
              f"first point lost in {first_lost} of {args.episodes} games, "
              f"{later_lost / args.episodes:.2f} later points lost per game",
              flush=True)
    env.close()


if __name__ == "__main__":
    main()
