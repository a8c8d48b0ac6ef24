import pytest

from a3c_jax import A3CConfig, ConfigError


@pytest.mark.parametrize("field,value,allowed", [
    ("t_max", 0, ">= 1"),
    ("num_workers", 0, ">= 1"),
    ("envs_per_worker", -1, ">= 1"),
    ("max_frames", 0, ">= 1"),
    ("learning_rate", 0.0, "> 0"),
    ("learning_rate", -1e-3, "> 0"),
    ("gamma", 0.0, "(0, 1]"),
    ("gamma", 1.5, "(0, 1]"),
    ("gae_lambda", 1.1, "[0, 1]"),
    ("arch", "cnn", "ff or lstm"),
    ("optimizer", "sgd", "rmsprop or adam"),
    ("rmsprop_eps", 0.0, "> 0"),
    ("adam_eps", 0.0, "> 0"),
    ("max_grad_norm", 0.0, "> 0"),
    ("entropy_beta", -0.1, ">= 0"),
    ("value_coef", -0.5, ">= 0"),
    ("frame_norm", "none", "centre or std"),
    ("head_init", "random", "zero or scaled"),
    ("dense_activation", "tanh", "relu or elu"),
    ("lr_anneal_frames", -2, "-1 (anneal over max_frames)"),
    ("final_lr_fraction", 1.5, "in [0, 1]"),
    ("entropy_anneal_frames", -1, "0 (constant) or a frame count"),
    ("final_entropy_beta", -0.01, ">= 0"),
    ("frame_stack", 0, ">= 1"),
])
def test_impossible_values_name_the_field_and_range(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        A3CConfig(**{field: value})
    assert field in str(info.value) and allowed in str(info.value)


def test_paper_preset_gives_the_papers_settings():
    config = A3CConfig.paper()
    assert (config.num_workers, config.envs_per_worker, config.t_max) == (16, 1, 5)
    assert (config.optimizer, config.learning_rate) == ("rmsprop", 7e-4)
    assert (config.rmsprop_decay, config.rmsprop_eps) == (0.99, 0.1)
    assert (config.lr_anneal_frames, config.final_lr_fraction) == (320_000_000, 0.0)
    assert config.entropy_anneal_frames == 0  # a constant entropy bonus
    assert (config.gamma, config.entropy_beta, config.value_coef, config.gae_lambda) == (0.99, 0.01, 0.5, 1.0)
    assert (config.frame_norm, config.centred_features) == ("centre", False)  # the paper's torso
    assert config.dense_activation == "relu"
    assert config.frame_stack == 4
    assert config.param_average == 0.0  # the agent plays its last params
    assert A3CConfig.paper(game="Breakout", num_workers=4).num_workers == 4  # flags still win


def test_the_learning_rate_value_weight_and_frame_stack_default_by_arch_unless_given():
    assert A3CConfig().base_learning_rate == 6e-4
    assert A3CConfig(arch="lstm").base_learning_rate == 3e-4  # 6e-4 collapsed the LSTM on Pong
    assert A3CConfig(arch="lstm", learning_rate=1e-3).base_learning_rate == 1e-3
    assert A3CConfig.paper(arch="lstm").base_learning_rate == 7e-4
    assert (A3CConfig().base_value_coef, A3CConfig(arch="lstm").base_value_coef) == (0.25, 0.5)
    assert A3CConfig(value_coef=1.0).base_value_coef == 1.0
    assert A3CConfig(arch="lstm").as_used()["value_coef"] == 0.5  # what train and bench print
    assert A3CConfig.paper().base_value_coef == A3CConfig.paper(arch="lstm").base_value_coef == 0.5
    assert (A3CConfig().frames_per_observation, A3CConfig(arch="lstm").frames_per_observation) == (2, 4)
    assert A3CConfig(arch="lstm", frame_stack=2).frames_per_observation == 2
    assert A3CConfig.paper().frames_per_observation == 4


def test_checkpoint_configs_from_before_a_field_keep_what_they_were_trained_with():
    stored = A3CConfig().to_dict()
    for key in ("frame_norm", "lr_anneal_frames", "frame_stack", "param_average"):
        del stored[key]
    config = A3CConfig.from_dict(stored)
    assert (config.frame_norm, config.lr_anneal_frames, config.frame_stack) == ("centre", -1, 4)
    assert config.param_average == 0.0


def test_config_round_trips_through_a_dict():
    config = A3CConfig(game="Breakout", arch="lstm", seed=3)
    assert A3CConfig.from_dict(config.to_dict()) == config
