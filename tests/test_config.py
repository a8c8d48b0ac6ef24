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
    ("max_grad_norm", 0.0, "> 0"),
    ("entropy_beta", -0.1, ">= 0"),
])
def test_impossible_values_name_the_field_and_range(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        A3CConfig(**{field: value})
    assert field in str(info.value) and allowed in str(info.value)


def test_defaults_are_the_papers():
    config = A3CConfig()
    assert (config.t_max, config.gamma, config.entropy_beta, config.value_coef) == (5, 0.99, 0.01, 0.5)
    assert (config.rmsprop_decay, config.rmsprop_eps, config.learning_rate) == (0.99, 0.1, 7e-4)
    assert config.gae_lambda == 1.0 and config.max_grad_norm == 40.0


def test_config_round_trips_through_a_dict():
    config = A3CConfig(game="Breakout", arch="lstm", seed=3)
    assert A3CConfig.from_dict(config.to_dict()) == config
