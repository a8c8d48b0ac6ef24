"""experiments/ab.py --table: the README's table of attempts, read from kept runs."""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments"))
import ab  # noqa: E402

from a3c_jax.config import A3CConfig  # noqa: E402


def keep_run(results, name, config=None, evaluations=(), returns=(-21.0,) * 100 + (20.0,) * 100):
    """A kept run of the given returns (default 200 games: -21 for 100, then 20); game i ends at
    25,000 i frames, 6 i seconds."""
    with open(results / f"{name}_metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["frames", "wall_time", "episode_return", "entropy"])
        for i, episode_return in enumerate(returns, start=1):
            writer.writerow([25_000 * i, 6.0 * i, episode_return, ""])
    if config is not None:
        with open(results / f"{name}_config.json", "w") as f:
            json.dump(config, f)
    for suffix, mean, std in evaluations:
        with open(results / f"{name}_{suffix}.json", "w") as f:
            json.dump(dict(mean=mean, std=std, config=config), f)
    return str(results / f"{name}_metrics.csv")


def test_setting_lists_the_flags_that_differ_from_todays_defaults(tmp_path):
    config = dict(A3CConfig().to_dict(), t_max=5, seed=1, centred_features=False, max_frames=7)
    keep_run(tmp_path, "ab_pong_x", config)
    assert ab.setting(str(tmp_path / "ab_pong_x")) == "--t-max 5 --no-centred-features --seed 1"
    keep_run(tmp_path, "ab_pong_same", A3CConfig().to_dict())
    assert ab.setting(str(tmp_path / "ab_pong_same")) == ""


def test_setting_reads_an_older_config_as_its_code_ran(tmp_path):
    """A config from before head_init existed ran with zero heads; no config: only the notes."""
    older = {k: v for k, v in A3CConfig().to_dict().items() if k != "head_init"}
    keep_run(tmp_path, "pong_attemptX", older)
    assert ab.setting(str(tmp_path / "pong_attemptX")) == "--head-init zero"
    keep_run(tmp_path, "pong_attempt7")
    assert ab.setting(str(tmp_path / "pong_attempt7")) == ab.CODE_NOTES["pong_attempt7"]


def test_table_line_holds_the_runs_figures(tmp_path):
    path = keep_run(tmp_path, "pong_attempt1000", dict(A3CConfig().to_dict(), t_max=10),
                    [("evaluation", 19.5, 1.2), ("evaluation_greedy", 20.0, 0.0)])
    header, rule, line = ab.table([path], bar=-15, target=18)
    assert header.count("|") == rule.count("|") == line.count("|")
    # -15 (last 50) first at game 108; 10 minutes = game 100; 18 (last 10) first at game 110.
    assert line == ("| pong_attempt1000 | --t-max 10 | 4,166 | 2.70M | -21.0 | -21.0 (2.50M) "
                    "| 2.75M, 11.0 min | 20.0 (5.00M) | 19.5 +- 1.2 / 20.0 |")


def test_results_are_listed_in_the_order_they_ran(tmp_path):
    for name in ("pong", "ab_pong_a11", "pong_attempt10", "pong_attempt57b", "pong_attempt9",
                 "pong_attempt57", "pong_lstm"):
        (tmp_path / f"{name}_metrics.csv").write_text("frames\n")
    names = [os.path.basename(p).removesuffix("_metrics.csv") for p in ab.pong_results(str(tmp_path))]
    assert names == ["pong_attempt9", "pong_attempt10", "pong_attempt57", "pong_attempt57b",
                     "ab_pong_a11", "pong", "pong_lstm"]


def test_a_mean_exactly_at_the_bar_reaches_it(tmp_path):
    """50 games all at -15 reach the bar -15 (a mean through 1/50 fell just under it)."""
    path = keep_run(tmp_path, "pong_attempt1001", returns=(-21.0,) * 10 + (-15.0,) * 50)
    assert ab.summarise(path, bar=-15, entropy_at=0)["frames_to_bar"] == 25_000 * 60
