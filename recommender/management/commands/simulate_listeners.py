"""Score the recommendation loop against simulated listeners whose true mood is known.

python manage.py simulate_listeners --dataset PATH [--model FILE] --listeners N --weeks W
                                    [--seed S] [--json OUT]

Without ``--model`` the artists of the dataset are split in two by a stable hash: a model is
trained on one half and the other half becomes the catalogue, so no track the listeners meet
was seen in training. With ``--model`` the whole dataset is the catalogue; the figures are
only honest if that model never trained on it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from emotion.management.commands._mood_model_options import (
    add_architecture_argument,
    add_dataset_arguments,
    load_dataset,
)
from emotion.ml import ArtifactError, load_artifact, train_on_dataset
from emotion.ml.evaluation import (
    HeldOutSplitError,
    require_every_emotion_on_both_sides,
    stable_artist_holdout,
)
from emotion.selectors import current_feature_set_version
from recommender.simulation import (
    JourneySimulationConfig,
    SimulationConfig,
    run_journey_simulation,
    run_simulation,
)


class Command(BaseCommand):
    help = (
        "Simulate listeners with known moods through the API; score mood inference and "
        "recommendations per policy."
    )

    def add_arguments(self, parser) -> None:
        add_dataset_arguments(parser)
        parser.add_argument("--model", type=Path, default=None, metavar="FILE")
        parser.add_argument("--listeners", type=int, required=True)
        parser.add_argument("--weeks", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", type=Path, default=None, metavar="OUT")
        add_architecture_argument(parser, help_text="architecture to train without --model")
        parser.add_argument(
            "--journeys",
            type=int,
            default=0,
            metavar="RUNS",
            help="also compare emotion journeys with jumping straight to the target emotion "
            "over RUNS simulated listeners (README: Emotion journeys by simulation)",
        )
        parser.add_argument(
            "--journeys-only",
            action="store_true",
            help="run only the journey comparison, not the recommendation policies",
        )
        parser.add_argument("--journey-length", type=int, default=JourneySimulationConfig.length)
        # The simulated listener of the journey comparison; the defaults are the values fixed
        # before its first run. Others measure how the planner holds up with listeners it was
        # not built around (README: Emotion journeys by simulation).
        parser.add_argument(
            "--journey-tolerance",
            type=float,
            default=JourneySimulationConfig.tolerance,
            help="a simulated listener accepts a track heard within this distance of their mood",
        )
        parser.add_argument(
            "--journey-pull",
            type=float,
            default=JourneySimulationConfig.pull,
            help="an accepted track moves the simulated mood this share of the way to it",
        )
        parser.add_argument(
            "--noise",
            type=float,
            default=0.2,
            help="share of plays that ignore the listener's mood",
        )

    def handle(
        self,
        *args,
        dataset,
        label_column,
        model,
        listeners,
        weeks,
        seed,
        json,
        preset,
        noise,
        journeys,
        journeys_only,
        journey_length,
        journey_tolerance,
        journey_pull,
        **options,
    ) -> None:
        if listeners < 1 or weeks < 1:
            raise CommandError("--listeners and --weeks must be at least 1")
        if not 5 <= journey_length <= 50:
            raise CommandError("--journey-length must be between 5 and 50")
        if not (journey_tolerance > 0 and 0 < journey_pull <= 1):
            raise CommandError("--journey-tolerance must be positive and --journey-pull in (0, 1]")
        if journeys_only and journeys < 1:
            raise CommandError("--journeys-only needs --journeys RUNS (at least 1)")
        started = time.perf_counter()
        data = load_dataset(dataset=dataset, label_column=label_column, stderr=self.stderr)
        if model is not None:
            try:
                trained = load_artifact(
                    model, expected_feature_set_version=current_feature_set_version()
                )
            except ArtifactError as error:
                raise CommandError(str(error)) from error
            catalogue = data
            self.stderr.write(
                "the whole dataset is the catalogue: the figures are honest only if "
                f"{model} never trained on {dataset}"
            )
        else:
            train, held_out = stable_artist_holdout(data.artists, fraction=0.5)
            try:
                require_every_emotion_on_both_sides(data.labels, train, held_out)
            except HeldOutSplitError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(
                f"training a {preset!r} model on {len(train)} clips; the other "
                f"{len(held_out)} clips (other artists) are the catalogue"
            )
            trained = train_on_dataset(
                data.subset(train.tolist()),
                preset=preset,
                seed=seed,
                trained_on={"dataset": str(dataset)},
            )
            catalogue = data.subset(held_out.tolist())

        results = {}
        if not journeys_only:
            config = SimulationConfig(listeners=listeners, weeks=weeks, seed=seed, noise=noise)
            policies = 4
            bar = tqdm(total=policies * 7 * weeks, desc="simulated days", unit="day")
            results = run_simulation(
                catalogue=catalogue,
                model=trained,
                config=config,
                progress=lambda message: (bar.set_postfix_str(message), bar.update(1)),
            )
            bar.close()
        journey_report = None
        if journeys:
            journey_config = JourneySimulationConfig(
                runs=journeys,
                seed=seed,
                length=journey_length,
                tolerance=journey_tolerance,
                pull=journey_pull,
            )
            bar = tqdm(total=journeys, desc="journey runs", unit="run")
            journey_results = run_journey_simulation(
                catalogue=catalogue,
                model=trained,
                config=journey_config,
                progress=lambda message: bar.update(1),
            )
            bar.close()
            journey_report = {"config": journey_config.__dict__, "arms": journey_results}
        report = {
            "dataset": str(dataset),
            "catalogue_tracks": len(catalogue),
            "listeners": listeners,
            "weeks": weeks,
            "seed": seed,
            "noise": noise,
            "model": str(model) if model else f"trained here ({preset}) on the other artists",
            "seconds": round(time.perf_counter() - started, 1),
            "policies": results,
            "journeys": journey_report,
        }
        if results:
            self._print_table(results)
        if journey_report:
            self._print_journey_table(journey_report)
        if json is not None:
            json.parent.mkdir(parents=True, exist_ok=True)
            json.write_text(_dumps(report))
            self.stdout.write(f"wrote {json}")

    def _print_table(self, results: dict) -> None:
        self.stdout.write(f"{'policy':<12}{'mood acc.':>10}{'P@10':>8}{'accept':>8}  by week")
        for policy, scores in results.items():
            weekly = " ".join(_fmt(v) for v in scores["acceptance_rate_by_week"])
            self.stdout.write(
                f"{policy:<12}{_fmt(scores['mood_accuracy']):>10}"
                f"{_fmt(scores['precision_at_10']):>8}"
                f"{_fmt(scores['acceptance_rate']):>8}  {weekly}"
            )

    def _print_journey_table(self, report: dict) -> None:
        config = report["config"]
        self.stdout.write(
            f"journeys vs jump: {config['runs']} runs of {config['length']} tracks, tolerance "
            f"{config['tolerance']}, pull {config['pull']}, hearing noise "
            f"{config['hearing_noise']}, mood spread {config['mood_spread']}"
        )
        self.stdout.write(
            f"{'arm':<10}{'accept':>8}{'mood in':>9}{'last in':>9}{'moved':>8}{'mean step':>11}"
            f"{'p95 step':>10}{'final dist':>12}"
        )
        for arm, scores in report["arms"].items():
            self.stdout.write(
                f"{arm:<10}{_fmt(scores['acceptance_rate']):>8}"
                f"{_fmt(scores['reached_target_region']):>9}"
                f"{_fmt(scores['last_track_in_target_region']):>9}"
                f"{_fmt(scores['mean_mood_moved_towards_target']):>8}"
                f"{_fmt(scores['mean_step']):>11}"
                f"{_fmt(scores['p95_step']):>10}"
                f"{_fmt(scores['mean_final_distance_to_target']):>12}"
            )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2) + "\n"
