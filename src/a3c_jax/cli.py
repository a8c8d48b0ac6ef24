"""The commands' flags: dataclasses read by tyro (field docstrings become the help), and
bad input reported as one `error: ...` line on stderr with exit code 2.

The commands themselves are `train.py` and `evaluate.py`; their flags live here so that
importing them does not shadow the library functions `a3c_jax.train` and `a3c_jax.evaluate`.
"""
import contextlib
import dataclasses
import io
import re
import sys
from dataclasses import dataclass
from typing import Literal, TypeVar

import tyro

from a3c_jax.config import A3CConfig

T = TypeVar("T")

PRESETS = {"default": A3CConfig, "paper": A3CConfig.paper}


@dataclass(frozen=True)
class TrainCommand:
    """What the training command was asked to do."""

    config: tyro.conf.OmitArgPrefixes[A3CConfig] = dataclasses.field(default_factory=A3CConfig)
    preset: Literal["default", "paper"] = "default"
    """Settings the other flags start from: `default` (A3CConfig's defaults) or `paper`
    (A3CConfig.paper(): 16 one-env threads, the learning rate annealed over 320M frames)."""
    resume: bool = False
    """Continue from the newest checkpoint of this game in --checkpoint-dir."""
    load_file: str | None = None
    """Continue from this checkpoint (the seed's --load_file)."""
    training: bool = False
    """Accepted for the seed's command lines; training is what this command does."""
    a3c_lstm: bool = False
    """Same as --arch lstm (the seed's flag)."""
    log_dir: str | None = None
    """Metrics folder (default: <run-dir>/<Game>_<arch>_seed<seed>)."""
    replay: str | None = None
    """Replay the run recorded in this metrics folder bit for bit, in its recorded update order,
    instead of training (its checkpoints go to <folder>/replay and are compared with the run's)."""
    until: int | None = None
    """With --replay: stop once this update is applied, and show it."""


def parse_train_command(argv=None, description: str | None = None) -> TrainCommand:
    """The command line -> TrainCommand; flags override the chosen preset's values."""
    argv = sys.argv[1:] if argv is None else list(argv)
    start = PRESETS.get(_preset_named(argv), A3CConfig)()  # an unknown name: tyro refuses it
    command = parse(TrainCommand, argv, prog="python -m a3c_jax.train", description=description,
                    default=TrainCommand(config=start))
    if command.a3c_lstm:
        command = dataclasses.replace(command, config=dataclasses.replace(command.config, arch="lstm"))
    return command


def _preset_named(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--preset" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--preset="):
            return arg.partition("=")[2]
    return "default"


@dataclass(frozen=True)
class EvaluateCommand:
    """What the evaluation command was asked to do."""

    game: str | None = None
    """Game to play (default: the checkpoint's)."""
    load_file: str | None = None
    """Checkpoint to play; without it the random agent plays."""
    episodes: int = 30
    """Whole games to play."""
    seed: int = 0
    """Episode i is seeded with seed + i."""
    greedy: bool = False
    """Take the most probable action instead of sampling."""
    results: str | None = None
    """Write a JSON results file here."""
    gif: str | None = None
    """Record the first episode as an animated GIF here."""
    sticky_actions: bool = False
    """Repeat the last action with probability 0.25."""


def parse_evaluate_command(argv=None, description: str | None = None) -> EvaluateCommand:
    return parse(EvaluateCommand, argv, prog="python -m a3c_jax.evaluate", description=description)


def parse(cls: type[T], argv, *, prog: str, description: str, default: T | None = None) -> T:
    """tyro.cli(cls) over argv (sys.argv[1:] when None); exits 2 with one line on bad input."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(arg in ("-h", "--help") for arg in argv):  # help goes to stdout as tyro formats it
        return tyro.cli(cls, args=argv, prog=prog, description=description, default=default)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return tyro.cli(cls, args=argv, prog=prog, description=description, default=default)
    except SystemExit as error:
        if error.code in (0, None):
            raise
        exit_with_error(_first_message(captured.getvalue()))


def exit_with_error(message: str, code: int = 2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def _first_message(box: str) -> str:
    """tyro's error box -> its message on one line: what stands between the title and the
    next rule, with UTF-8 or ASCII borders."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", box)  # no colours
    lines = [line.strip().strip("│|╭╮╰╯").strip() for line in text.splitlines()]
    lines = [line for line in lines if line][1:]  # the first is the title

    def is_rule(line):
        return set(line) <= set("─-+")

    if lines and is_rule(lines[0]):
        lines = lines[1:]
    message = []
    for line in lines:
        if is_rule(line):
            break
        message.append(line)
    return " ".join(message) or "invalid command line: see --help"
