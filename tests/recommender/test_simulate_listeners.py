"""simulate_listeners end to end on a small synthetic dataset folder. It checks the plumbing
and the report's shape; the figures on synthetic clips are not a measure of anything."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from catalogue.models import Track
from emotion.models import MoodModelVersion
from tests.synthetic_datasets import write_dataset
from users.models import User

pytestmark = pytest.mark.django_db


def test_the_simulation_reports_every_policy_and_leaves_nothing_behind(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    dataset = write_dataset(tmp_path / "dataset", per_quadrant=16, seed=3)
    report_path = tmp_path / "simulation.json"
    out = io.StringIO()

    call_command(
        "simulate_listeners",
        "--dataset",
        str(dataset),
        "--listeners",
        "2",
        "--weeks",
        "2",
        "--preset",
        "fast",
        "--json",
        str(report_path),
        stdout=out,
        stderr=io.StringIO(),
    )

    report = json.loads(report_path.read_text())
    assert set(report["policies"]) == {"seed", "bandit", "popularity", "random"}
    for scores in report["policies"].values():
        assert {"mood_accuracy", "precision_at_10", "acceptance_rate"} <= set(scores)
        assert len(scores["acceptance_rate_by_week"]) == 2
        assert scores["recommendations_served"] > 0
        assert 0.0 <= scores["precision_at_10"] <= 1.0
    assert "policy" in out.getvalue() and "bandit" in out.getvalue()
    # One rolled-back transaction: no simulated tracks, listeners or model survive.
    assert not Track.objects.exists()
    assert not User.objects.filter(username__startswith="simulated-").exists()
    assert not MoodModelVersion.objects.exists()


def test_a_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no metadata.csv"):
        call_command(
            "simulate_listeners", "--dataset", str(tmp_path), "--listeners", "1", "--weeks", "1"
        )


def test_the_journey_comparison_reports_both_arms_and_leaves_nothing_behind(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    dataset = write_dataset(tmp_path / "dataset", per_quadrant=16, seed=3)
    report_path = tmp_path / "journeys.json"
    out = io.StringIO()

    call_command(
        "simulate_listeners",
        "--dataset",
        str(dataset),
        "--listeners",
        "1",
        "--weeks",
        "1",
        "--preset",
        "fast",
        "--journeys",
        "3",
        "--journeys-only",
        "--journey-length",
        "5",
        "--journey-tolerance",
        "0.3",
        "--journey-pull",
        "0.5",
        "--json",
        str(report_path),
        stdout=out,
        stderr=io.StringIO(),
    )

    report = json.loads(report_path.read_text())
    assert report["policies"] == {}
    assert report["journeys"]["config"]["runs"] == 3
    assert report["journeys"]["config"]["tolerance"] == 0.3
    assert report["journeys"]["config"]["pull"] == 0.5
    arms = report["journeys"]["arms"]
    assert set(arms) == {"journey", "jump"}
    for scores in arms.values():
        assert scores["runs"] == 3
        assert 0 < scores["tracks_answered"] <= 15
        assert 0.0 <= scores["acceptance_rate"] <= 1.0
        assert 0.0 <= scores["reached_target_region"] <= 1.0
        assert 0.0 <= scores["last_track_in_target_region"] <= 1.0
        assert scores["mean_step"] >= 0.0
    assert "journeys vs jump" in out.getvalue()
    assert not Track.objects.exists()
    assert not User.objects.filter(username__startswith="simulated-").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--journeys-only"], "--journeys-only needs"),
        (["--journeys", "1", "--journey-pull", "0"], "--journey-pull in"),
        (["--journeys", "1", "--journey-tolerance", "-0.1"], "--journey-tolerance must"),
    ],
)
def test_journey_arguments_that_cannot_run_are_refused(tmp_path, arguments, message):
    dataset = write_dataset(tmp_path / "dataset", per_quadrant=4, seed=3)
    with pytest.raises(CommandError, match=message):
        call_command(
            "simulate_listeners",
            "--dataset",
            str(dataset),
            "--listeners",
            "1",
            "--weeks",
            "1",
            *arguments,
        )
