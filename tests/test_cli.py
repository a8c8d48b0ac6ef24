"""The command lines, run as a user runs them, in a subprocess with a tiny budget."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from a3c_jax import A3CConfig
from a3c_jax.cli import parse_train_command as parse_command


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_pong_train_then_evaluate_with_gif(tmp_path):
    train = run("a3c_jax.train", "--game", "Pong", "--max-frames", "4000", "--num_workers", "2",
                "--checkpoint-every", "2000", "--training", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert "config:" in train.stdout and "checkpoint:" in train.stdout
    checkpoints = sorted(os.listdir(tmp_path / "checkpoints"))
    assert checkpoints and all(name.startswith("Pong_") for name in checkpoints)
    newest = max(checkpoints, key=lambda name: int(name.split("_")[1]))
    assert int(newest.split("_")[1]) >= 4000
    metrics = tmp_path / "runs" / "Pong_ff_seed0" / "metrics.csv"
    assert metrics.read_text().startswith("frames,wall_time,episode_return")
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(metrics.parent))

    ckpt = str(tmp_path / "checkpoints" / newest)
    results, gif = tmp_path / "out" / "results.json", tmp_path / "out" / "pong.gif"
    evaluate = run("a3c_jax.evaluate", "--game", "Pong", "--load_file", ckpt, "--episodes", "1",
                   "--results", str(results), "--gif", str(gif), cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr
    record = json.loads(results.read_text())
    assert record["game"] == "Pong" and record["checkpoint"] == ckpt
    assert record["frames_trained"] >= 4000 and record["config"]["game"] == "Pong"
    assert len(record["scores"]) == len(record["lengths"]) == 1
    assert -21 <= record["mean"] <= 21 and record["min"] <= record["mean"] <= record["max"]
    # Pong: random -20.7, human 14.6
    assert abs(record["human_normalised"] - (record["mean"] + 20.7) / 35.3) < 1e-9
    with Image.open(gif) as image:
        assert image.n_frames > 10 and image.size == (160, 210)  # the real colour screen
    assert gif.stat().st_size < 5_000_000  # small enough for a README

    other_game = run("a3c_jax.evaluate", "--game", "Breakout", "--load_file", ckpt, cwd=tmp_path)
    assert other_game.returncode == 2 and "trained on Pong, not Breakout" in other_game.stderr


def test_plot_draws_the_learning_curve(tmp_path):
    train = run("a3c_jax.train", "--game", "CartPole-v1", "--max-frames", "3000", "--a3c_lstm",
                "--lstm-size", "16", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    run_dir = tmp_path / "runs" / "CartPole-v1_lstm_seed0"
    plot = run("a3c_jax.plot", str(run_dir), cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    with Image.open(run_dir / "learning_curve.png") as image:
        assert image.size[0] > 100 and image.size[1] > 100


def test_random_agent_evaluation_and_bad_input(tmp_path):
    ok = run("a3c_jax.evaluate", "--game", "Breakout", "--episodes", "1", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "random agent" in ok.stdout and "human-normalised" in ok.stdout
    unknown = run("a3c_jax.train", "--game", "Pongg", cwd=tmp_path)
    assert unknown.returncode == 2 and "pong" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    missing = run("a3c_jax.evaluate", "--load_file", "nowhere/Pong_10", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad = run("a3c_jax.train", "--game", "Pong", "--t-max", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "t_max" in bad.stderr
    assert not (tmp_path / "checkpoints").exists()


def test_every_command_prints_its_help(tmp_path):
    for module in ("a3c_jax.train", "a3c_jax.evaluate", "a3c_jax.plot"):
        result = run(module, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "usage: " in result.stdout and "--" in result.stdout
    help_text = run("a3c_jax.train", "--help", cwd=tmp_path).stdout
    for flag in ("--num-workers", "--preset", "--load-file", "--a3c-lstm", "--resume", "--log-dir"):
        assert flag in help_text
    assert "Steps per rollout before an update" in help_text  # A3CConfig's field docstring


def test_presets_and_flags_from_the_command_line():
    assert parse_command([]).config == A3CConfig()
    assert parse_command(["--preset", "paper"]).config == A3CConfig.paper()
    # flags given win over the preset's values, with - or _ in their names
    assert parse_command(["--preset=paper", "--num_workers", "4", "--t-max", "20"]).config == \
        A3CConfig.paper(num_workers=4, t_max=20)
    seed_style = parse_command(["--game", "Breakout", "--a3c_lstm", "--load_file", "ckpt",
                                "--training", "--sticky-actions", "--log_dir", "metrics"])
    assert seed_style.config == A3CConfig(game="Breakout", arch="lstm", sticky_actions=True)
    assert (seed_style.load_file, seed_style.training, seed_style.log_dir) == ("ckpt", True, "metrics")
    assert parse_command(["--resume", "--no-sticky-actions"]).resume
    # the LSTM's own learning rate and value weight, however the LSTM is asked for, unless given
    for argv in (["--arch", "lstm"], ["--a3c_lstm"]):
        config = parse_command(argv).config
        assert (config.base_learning_rate, config.base_value_coef) == (3e-4, 0.5)
    assert parse_command(["--arch", "lstm", "--learning-rate", "1e-3"]).config.base_learning_rate == 1e-3


@pytest.mark.parametrize("argv, message", [
    (["--num-workers", "abc"], "--num-workers"),
    (["--bogus"], "--bogus"),
    (["--preset", "fast"], "fast"),
    (["--t-max"], "--t-max"),
    (["--gamma", "2"], "gamma"),
])
def test_malformed_flags_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_command(argv)
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert stderr.startswith("error: ") and message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
