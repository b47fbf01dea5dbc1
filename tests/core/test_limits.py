"""core.limits: the bounds a public link is held to, read from the environment by one parser."""

import math

import pytest

from core.limits import ServiceLimits, env_number, train_budget


@pytest.mark.parametrize("value, expected", [("12", 12.0), ("0", 0.0), ("2.5", 2.5), ("-3", 7.0), ("abc", 7.0),
                                             ("inf", 7.0), ("nan", 7.0), ("", 7.0)])
def test_a_setting_is_a_finite_non_negative_number_or_the_default(monkeypatch, value, expected):
    monkeypatch.setenv("CONVLAB_TEST_NUMBER", value)
    assert env_number("CONVLAB_TEST_NUMBER", 7.0) == expected


def test_the_service_limits_and_the_training_budget_follow_the_environment(monkeypatch):
    monkeypatch.setenv("CONVLAB_MAX_QUEUE", "3")
    monkeypatch.setenv("CONVLAB_ABANDON_S", "inf")  # an infinite wait would keep every abandoned run
    monkeypatch.setenv("CONVLAB_MAX_TRAIN_MACS", "2e9")
    limits = ServiceLimits.from_env()
    assert (limits.max_waiting, limits.abandon_after) == (3, ServiceLimits().abandon_after)
    assert train_budget() == 2e9 and math.isfinite(limits.results_mb)
