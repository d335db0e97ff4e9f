"""Settings read from the environment: what each value turns into."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recommender.settings import env_crontab

EVERY_DAY_OF_MONTH = set(range(1, 32))
EVERY_MONTH = set(range(1, 13))


def test_the_default_retraining_schedule_is_mondays_at_four():
    schedule = settings.CELERY_BEAT_SCHEDULE["retrain-mood-model"]["schedule"]

    assert schedule.minute == {0}
    assert schedule.hour == {4}
    assert schedule.day_of_week == {1}  # cron counts weekdays from Sunday = 0
    assert schedule.day_of_month == EVERY_DAY_OF_MONTH
    assert schedule.month_of_year == EVERY_MONTH


def test_cron_fields_are_read_in_cron_order(monkeypatch):
    monkeypatch.setenv("MOOD_MODEL_RETRAIN_CRON", "30 2 15 6 *")

    schedule = env_crontab("MOOD_MODEL_RETRAIN_CRON", "0 4 * * 1")

    assert schedule.minute == {30}
    assert schedule.hour == {2}
    assert schedule.day_of_month == {15}
    assert schedule.month_of_year == {6}
    assert schedule.day_of_week == set(range(7))


def test_extra_whitespace_between_cron_fields_is_accepted(monkeypatch):
    monkeypatch.setenv("MOOD_MODEL_RETRAIN_CRON", " 0  4 *\t* 1 ")

    schedule = env_crontab("MOOD_MODEL_RETRAIN_CRON", "0 4 * * 1")

    assert (schedule.minute, schedule.hour, schedule.day_of_week) == ({0}, {4}, {1})


def test_an_empty_value_means_the_default(monkeypatch):
    monkeypatch.setenv("MOOD_MODEL_RETRAIN_CRON", "")

    schedule = env_crontab("MOOD_MODEL_RETRAIN_CRON", "0 4 * * 1")

    assert schedule.day_of_week == {1}


@pytest.mark.parametrize("value", ["0 4 * *", "0 4 * * 1 2026", "61 4 * * 1", "0 4 * * 8", "daily"])
def test_an_invalid_cron_expression_is_a_configuration_error(monkeypatch, value):
    monkeypatch.setenv("MOOD_MODEL_RETRAIN_CRON", value)

    with pytest.raises(ImproperlyConfigured, match="MOOD_MODEL_RETRAIN_CRON=.*minute hour"):
        env_crontab("MOOD_MODEL_RETRAIN_CRON", "0 4 * * 1")
