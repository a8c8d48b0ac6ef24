"""How much of a checkpoint's sampled score is lost to the softness of its policy.

    python experiments/temperature.py runs/pong-experiment/checkpoints/Pong_5500800 --taus 1 0.75 0.5

Plays --episodes whole games (game i seeded i, as `a3c_jax.evaluate`) sampling each action
from softmax(logits / tau) for each temperature tau: tau 1 is the evaluation's sampled
policy, tau -> 0 its greedy one. Prints per tau the mean score and the policy's entropy per
step (at tau 1). A score that rises as tau falls means the points are lost to sampling noise
in a policy that already ranks the actions right.

It also says where the points are lost: in how many games the opponent won the first
point (the first nonzero reward is negative), how many of its points came later, and how
often the agent won a point after winning the one before and after losing it (a stalled
agent wins alternate points: it has learnt the serve that follows a lost point only).
--first-points N plays N more games (16 at a time) only up to their first point, sampled
and greedy, and prints how many of those first points the agent won (with --episodes 0, only
those).
"""
import argparse

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from a3c_jax import checkpoint
from a3c_jax.envs import agent_reset, make_envs, resolve_game
from a3c_jax.evaluation_run import load_agent, play_game

FIRST_POINT_BATCH = 16  # games played at once by --first-points


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


def point_after_point(points: int, lost: list[int]) -> np.ndarray:
    """[2, 2] counts of consecutive point pairs of one game of `points` points, the agent
    losing those in `lost`: row = the earlier point lost (0) / won (1), column = the later."""
    won = np.ones(points, int)
    won[lost] = 0
    pairs = np.zeros((2, 2), int)
    np.add.at(pairs, (won[:-1], won[1:]), 1)
    return pairs


def first_points(env, act, seed: int, max_steps: int = 2000) -> np.ndarray:
    """[B]: the sign of the first point of each of env's B games (seeded seed, seed + 1, ...):
    +1 won, -1 lost, 0 none within max_steps. act(obs [B, ...], reset [B]) -> actions [B]."""
    obs, _ = env.reset(seed=seed)
    reset = np.ones(env.num_envs, bool)
    first = np.zeros(env.num_envs)
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(np.asarray(act(obs, reset)))
        reset = agent_reset(terminated, truncated, info)
        first = np.where(first == 0, np.sign(reward), first)
        if first.all():
            break
    return first


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--taus", type=float, nargs="+", default=[1.0, 0.75, 0.5])
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--first-points", type=int, default=0, metavar="N",
                        help="also play N games (a multiple of 16) to their first point")
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

    def envs(seeds):
        return make_envs(resolve_game(ckpt.config.game), seeds, training=False,
                         frame_stack=ckpt.config.frames_per_observation)

    env = LostPoints(envs([0]))
    print(f"{args.checkpoint}: {ckpt.frames:,} frames trained, {args.episodes} games per tau")
    for tau in args.taus if args.episodes > 0 else []:
        scores, entropies, first_lost, later_lost = [], [], 0, 0
        pairs = np.zeros((2, 2), int)
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
            pairs += point_after_point(env.points, env.lost)
        print(f"tau {tau:g}: mean {np.mean(scores):.2f} +- {np.std(scores):.2f} "
              f"(min {min(scores):g}, max {max(scores):g}) | entropy per step {np.mean(entropies):.3f} | "
              f"first point lost in {first_lost} of {args.episodes} games, "
              f"{later_lost / args.episodes:.2f} later points lost per game | point won after a won "
              f"point {pairs[1, 1]} of {pairs[1].sum()}, after a lost one {pairs[0, 1]} of {pairs[0].sum()}",
              flush=True)
    env.close()
    if args.first_points:
        report_first_points(networks, params, envs, args.first_points)


def report_first_points(networks, params, envs, games: int) -> None:
    """Prints how many of the first points of games 0 .. games - 1 the agent won, sampled and greedy."""
    won = {}
    for greedy in (False, True):
        signs = []
        for seed in range(0, games, FIRST_POINT_BATCH):
            env = envs(list(range(seed, seed + FIRST_POINT_BATCH)))
            carry, key = networks.initial_carry(FIRST_POINT_BATCH), jax.random.PRNGKey(seed)

            def act(obs, reset):
                nonlocal carry, key
                action, carry, key = networks.act(params, obs, carry, reset, key, greedy)
                return action

            signs.append(first_points(env, act, seed))
            env.close()
        signs = np.concatenate(signs)
        won["greedy" if greedy else "sampled"] = int((signs > 0).sum())
    print(f"first point won in {won['sampled']} of {len(signs)} games sampled, "
          f"{won['greedy']} greedy", flush=True)


if __name__ == "__main__":
    main()
