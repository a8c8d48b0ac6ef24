"""Environments: ALE games with the paper's preprocessing, plain gymnasium envs, and CueMemory.

Every env made here reports whole-game scores the same way: gymnasium's
RecordEpisodeStatistics sits below any life-loss or reward-clipping wrapper, so
`info["episode"]["r"]` is the unclipped score of a real episode (a whole game on Atari).
"""
import difflib
import os
import re

import ale_py
import gymnasium as gym
import numpy as np
from ale_py.vector_env import AtariVectorEnv

ATARI_FRAME_SKIP = 4
ATARI_STACK = 4

ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr for every env


class UnknownGameError(ValueError):
    """A game name that is neither an ALE ROM nor a registered gymnasium id."""


class CueMemory(gym.Env):
    """A memory task: a cue seen only on the first step decides which action pays at the last.

    Observation [1 + length] float32: the cue (+1 or -1) at step 0 and 0 afterwards,
    followed by a one-hot of the step index. Two actions. At the last step, the action
    matching the cue (1 for +1, 0 for -1) earns +1 and the other -1; every other step
    earns 0. A memoryless policy can do no better than chance (mean return 0, 50% success);
    one that remembers the cue scores +1 every episode.
    """

    def __init__(self, length: int = 6):
        if length < 2:
            raise ValueError(f"length={length} is invalid: CueMemory needs length >= 2")
        self.length = length
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1 + length,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._t = 0
        self._cue = 1.0

    def _obs(self):
        obs = np.zeros(1 + self.length, np.float32)
        obs[0] = self._cue if self._t == 0 else 0.0
        obs[1 + self._t] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._cue = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(), {}

    def step(self, action):
        if self._t < self.length - 1:
            self._t += 1
            return self._obs(), 0.0, False, False, {}
        success = int(action) == int(self._cue > 0)
        return self._obs(), 1.0 if success else -1.0, True, False, {"success": success}


gym.register(id="a3c_jax/CueMemory-v0", entry_point=CueMemory)


class EpisodicLife(gym.Wrapper):
    """Ends the training episode when a life is lost, but resets the game only when it is over.

    After a lost life, reset() continues the same game with one no-op step (DeepMind's
    protocol), so the agent learns that losing a life is bad without replaying the start.
    """

    def __init__(self, env):
        super().__init__(env)
        self._lives = 0
        self._game_over = True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self._lives:
            terminated = True
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self._game_over:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self._lives = self.env.unwrapped.ale.lives()
        return obs, info


class FireReset(gym.Wrapper):
    """Presses FIRE after every reset, for games that wait for it (Breakout, ...)."""

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        return obs, info


def _rom_ids() -> list[str]:
    return list(ale_py.roms.get_all_rom_ids())


def atari_rom_id(name: str) -> str | None:
    """`Pong`, `pong`, `PongNoFrameskip-v4`, `ALE/Pong-v5`, `space_invaders` -> ALE ROM id, or None."""
    base = name.split("/")[-1]
    base = re.sub(r"-v\d+$", "", base)
    base = re.sub(r"(NoFrameskip|Deterministic)$", "", base)
    key = base.replace("_", "").replace("-", "").lower()
    return {rom.replace("_", ""): rom for rom in _rom_ids()}.get(key)


def is_atari(game: str) -> bool:
    return atari_rom_id(game) is not None


def check_game(game: str) -> None:
    """Raises UnknownGameError, naming the closest ALE games, unless `game` can be made."""
    if is_atari(game) or game in gym.registry:
        return
    key = game.split("/")[-1].lower()
    key = re.sub(r"(noframeskip|deterministic)?(-v\d+)?$", "", key)
    roms = _rom_ids()
    by_key = {rom.replace("_", ""): rom for rom in roms} | {rom: rom for rom in roms}
    close = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.5)]
    close = list(dict.fromkeys(close))[:3]
    hint = f"closest ALE games: {', '.join(close)}" if close else \
        "see ale_py.roms.get_all_rom_ids() for the ALE games"
    raise UnknownGameError(
        f"unknown game {game!r}: {hint} (a registered gymnasium id such as CartPole-v1 also works)")


def game_label(game: str) -> str:
    """The name checkpoints carry: `Pong` for any spelling of an ALE game, else the gym id."""
    rom = atari_rom_id(game)
    if rom is not None:
        return "".join(part.capitalize() for part in rom.split("_"))
    return game.replace("/", "-")


def frames_per_step(game: str) -> int:
    """Raw frames per agent step: the action repeat on Atari, 1 elsewhere."""
    return ATARI_FRAME_SKIP if is_atari(game) else 1


def make_atari_env(game: str, *, training: bool, sticky_actions: bool = False,
                   max_episode_frames: int = 108_000, render: bool = False) -> gym.Env:
    """The paper's Atari env: observations [4, 84, 84] uint8 (the last 4 max-pooled grey frames).

    Training adds reward clipping to [-1, 1] and ends the episode on a lost life;
    evaluation plays whole games with raw scores. Both start with up to 30 no-ops.
    """
    rom = atari_rom_id(game)
    if rom is None:
        check_game(game)
        raise UnknownGameError(f"{game!r} is not an ALE game")
    env = ale_py.env.AtariEnv(
        game=rom, frameskip=1, repeat_action_probability=0.25 if sticky_actions else 0.0,
        max_num_frames_per_episode=max_episode_frames, full_action_space=False,
        render_mode="rgb_array" if render else None)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=ATARI_FRAME_SKIP,
                                          screen_size=84, terminal_on_life_loss=False)
    env = gym.wrappers.RecordEpisodeStatistics(env)
    if training:
        env = EpisodicLife(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireReset(env)
    if training:
        env = gym.wrappers.ClipReward(env, -1.0, 1.0)
    return gym.wrappers.FrameStackObservation(env, ATARI_STACK, padding_type="reset")


def make_env(game: str, *, training: bool = True, sticky_actions: bool = False,
             max_episode_frames: int = 108_000, render: bool = False) -> gym.Env:
    """One env for `game`: an ALE game with the paper's preprocessing, or a gymnasium id."""
    check_game(game)
    if is_atari(game):
        return make_atari_env(game, training=training, sticky_actions=sticky_actions,
                              max_episode_frames=max_episode_frames, render=render)
    env = gym.make(game, **({"render_mode": "rgb_array"} if render else {}))
    return gym.wrappers.RecordEpisodeStatistics(env)


class AtariTrainingVectorEnv(gym.vector.VectorWrapper):
    """B training games on ale-py's C++ vector env, which runs the emulator and the paper's
    preprocessing in its own threads without holding the GIL.

    The same protocol as make_atari_env(training=True): [B, 4, 84, 84] uint8, up to 30
    no-ops and FIRE at reset, rewards clipped to [-1, 1], a lost life ends the training
    episode while the game goes on. Whole-game unclipped scores are reported the way
    gymnasium's vector envs report RecordEpisodeStatistics: info["final_info"]["episode"].
    """

    def __init__(self, game: str, num_envs: int, *, sticky_actions: bool = False,
                 max_episode_frames: int = 108_000):
        super().__init__(AtariVectorEnv(
            atari_rom_id(game), num_envs, num_threads=min(num_envs, os.cpu_count() or 1),
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, life_loss_info=True,
            reward_clipping=False, noop_max=30, use_fire_reset=True, frameskip=ATARI_FRAME_SKIP,
            stack_num=ATARI_STACK, repeat_action_probability=0.25 if sticky_actions else 0.0,
            max_num_frames_per_episode=max_episode_frames))
        self._lives = np.zeros(num_envs, np.int64)
        self._score = np.zeros(num_envs, np.float64)
        self._length = np.zeros(num_envs, np.int64)

    def reset(self, *, seed=None, options=None):
        if isinstance(seed, (list, tuple)):
            seed = seed[0]
        obs, info = self.env.reset(seed=seed, options=options)
        self._lives[:] = info["lives"]
        self._score[:], self._length[:] = 0.0, 0
        return obs, info

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self._score += reward
        self._length += 1
        lives = info["lives"]  # after an autoreset: the new game's lives
        life_lost = terminated & (lives > 0) & (lives < self._lives)
        game_over = (terminated | truncated) & ~life_lost
        if game_over.any():
            info["final_info"] = {"episode": {"r": self._score.copy(), "l": self._length.copy()},
                                  "_episode": game_over}
            self._score[game_over], self._length[game_over] = 0.0, 0
        self._lives[:] = lives
        return obs, np.clip(reward, -1.0, 1.0).astype(np.float32), terminated, truncated, info


def make_vector_env(env_fns) -> gym.vector.VectorEnv:
    """Steps several envs as one batch; a finished env is reset within the same step."""
    return gym.vector.SyncVectorEnv(env_fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
