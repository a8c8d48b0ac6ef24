"""Checkpoints: one msgpack file `<Game>_<frames>` with params, optimizer state, the params
average (the agent that plays), config and counters.

Written to a temporary file and renamed into place, so a checkpoint file is either
complete or absent; the newest few are kept.
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flax import serialization

from a3c_jax.config import A3CConfig
from a3c_jax.optim import averaged_params

FORMAT = "a3c_jax-checkpoint-1"


class CheckpointError(ValueError):
    """A path that is missing, not a checkpoint, truncated, or made for another agent."""


@dataclass(frozen=True)
class Checkpoint:
    path: str
    label: str
    config: A3CConfig
    frames: int
    updates: int
    num_actions: int
    obs_shape: tuple
    params: Any  # state dict (nested dicts of numpy arrays)
    opt_state: Any  # state dict (restore with flax.serialization.from_state_dict); None in an exported agent
    average_params: Any = None  # state dict of the params average (optim.average_params); None: none kept

    @property
    def agent_params(self):
        """The params the agent plays (evaluate, export): the average where the run kept one."""
        return self.params if self.average_params is None else self.average_params


def checkpoint_name(label: str, frames: int) -> str:
    return f"{label}_{frames}"


def save(directory: str, label: str, *, config: A3CConfig, params, opt_state, frames: int,
         updates: int, num_actions: int, obs_shape: tuple, keep: int) -> str:
    """Writes `<directory>/<label>_<frames>` atomically, deletes all but the newest `keep`; returns its path."""
    os.makedirs(directory, exist_ok=True)
    payload = {
        "format": FORMAT,
        "label": label,
        "config": config.to_dict(),
        "frames": frames,
        "updates": updates,
        "num_actions": num_actions,
        "obs_shape": list(obs_shape),
        "params": serialization.to_state_dict(params),
        "opt_state": serialization.to_state_dict(opt_state),
        "average_params": serialization.to_state_dict(averaged_params(opt_state)),
    }
    path = _write(os.path.join(directory, checkpoint_name(label, frames)), payload)
    for old in list_checkpoints(directory, label)[:-keep]:
        os.remove(old)
    return path


def export_agent(ckpt: "Checkpoint", path: str) -> str:
    """Writes ckpt's agent (Checkpoint.agent_params) without the optimizer state: a smaller file,
    to evaluate or share (`python -m a3c_jax.evaluate --load_file PATH`); training cannot resume from it."""
    payload = {"format": FORMAT, "label": ckpt.label, "config": ckpt.config.to_dict(),
               "frames": ckpt.frames, "updates": ckpt.updates, "num_actions": ckpt.num_actions,
               "obs_shape": list(ckpt.obs_shape), "params": ckpt.agent_params, "opt_state": None,
               "average_params": None}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return _write(path, payload)


def _write(path: str, payload: dict) -> str:
    """Writes payload to a temporary file beside path and renames it into place."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(serialization.msgpack_serialize(payload))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def list_checkpoints(directory: str, label: str) -> list[str]:
    """Complete checkpoints of `label` in `directory`, oldest first (by frames)."""
    pattern = re.compile(re.escape(label) + r"_(\d+)$")
    found = []
    for entry in Path(directory).glob(f"{label}_*") if os.path.isdir(directory) else []:
        match = pattern.match(entry.name)
        if match:
            found.append((int(match.group(1)), str(entry)))
    return [path for _, path in sorted(found)]


def latest(directory: str, label: str) -> str | None:
    """The path of the newest checkpoint of `label` that loads completely, or None."""
    ckpt = load_latest(directory, label)
    return ckpt.path if ckpt is not None else None


def load_latest(directory: str, label: str) -> Checkpoint | None:
    """The newest checkpoint of `label` that loads completely, loaded; or None."""
    for path in reversed(list_checkpoints(directory, label)):
        try:
            return load(path)
        except CheckpointError:
            continue
    return None


def load(path: str) -> Checkpoint:
    """Reads a checkpoint; raises CheckpointError with the fix if it is missing or unreadable."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist: pass the path of a file "
                              f"written by training (named <Game>_<frames>)")
    with open(path, "rb") as f:
        data = f.read()
    try:
        payload = serialization.msgpack_restore(data)
    except Exception:
        payload = None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a complete a3c_jax checkpoint (truncated or another "
                              f"kind of file): pass a checkpoint written by a3c_jax training")
    try:
        return Checkpoint(
            path=path, label=str(payload["label"]), config=A3CConfig.from_dict(payload["config"]), frames=int(payload["frames"]),
            updates=int(payload["updates"]), num_actions=int(payload["num_actions"]),
            obs_shape=tuple(int(n) for n in payload["obs_shape"]),
            params=payload["params"], opt_state=payload["opt_state"],
            average_params=payload.get("average_params"))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path!r} is a damaged a3c_jax checkpoint ({error}): "
                              f"pass another checkpoint") from None


def check_compatible(ckpt: Checkpoint, *, num_actions: int, obs_shape: tuple,
                     label: str | None = None, config: A3CConfig | None = None) -> None:
    """Refuses a checkpoint made for another game, action count or observation, or (when
    training continues from it with config) for other network or optimizer settings."""
    problems = [] if config is None else _setting_problems(ckpt.config, config, len(obs_shape) == 3)
    if label is not None and ckpt.label != label:
        problems.append(f"it was trained on {ckpt.label}, not {label}")
    if ckpt.num_actions != num_actions:
        problems.append(f"it has {ckpt.num_actions} actions, the env has {num_actions}")
    if tuple(ckpt.obs_shape) != tuple(obs_shape):
        problems.append(f"it expects observations {ckpt.obs_shape}, the env gives {tuple(obs_shape)}")
    if problems:
        raise CheckpointError(f"checkpoint {ckpt.path!r} does not fit: " + "; ".join(problems))


def _setting_problems(saved: A3CConfig, run: A3CConfig, frames: bool) -> list[str]:
    """The settings in which a resumed run differs from its checkpoint's and which matter:
    with another value the saved arrays would not fit (arch, lstm_size, optimizer,
    param_average) or the network would compute another function of the same inputs
    (frame_norm, centred_features, dense_activation)."""
    problems = []
    if saved.arch != run.arch:
        problems.append(f"it is an {saved.arch.upper()} checkpoint but the agent is "
                        f"{run.arch.upper()} (use --arch {saved.arch})")
    fields = (["optimizer", "param_average"] + (["lstm_size"] if saved.arch == run.arch == "lstm" else [])
              + (["frame_norm", "frame_stack", "centred_features", "dense_activation"] if frames else []))
    saved_used, run_used = saved.as_used(), run.as_used()
    for field in fields:
        was, now = saved_used[field], run_used[field]
        if was != now:
            problems.append(f"it was trained with {_flag(field, was)}, this run has "
                            f"{_flag(field, now)} (use {_flag(field, was)})")
    return problems


def _flag(field: str, value) -> str:
    """The command-line flag that sets config field to value, e.g. `--lstm-size 16`."""
    name = field.replace("_", "-")
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no-{name}"
    return f"--{name} {value}"
