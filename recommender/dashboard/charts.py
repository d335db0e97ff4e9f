"""The dashboard's charts, drawn from the selectors' rows with ``common.charts``.

Each function returns the ``<img class="chart">`` with alt text that says what the chart
shows, numbers included. With nothing to plot, the chart is ``empty_chart`` saying so (and
the alt text says the same), never a blank frame or an error.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.utils.safestring import SafeString
from matplotlib.dates import DateFormatter

from common.charts import chart_img, emotion_colour, empty_chart, new_figure
from recommender.dashboard.selectors import (
    Acceptance,
    ActiveModel,
    AnalysisStates,
    BeatEntry,
    DailyPlays,
    EmotionDistribution,
    ValenceArousalSample,
)
from recommender.models import BeatRunOutcome

# Policies are compared side by side; their colours are not the emotions'.
POLICY_COLOURS = ("#2a6f97", "#c05621", "#6b4c9a", "#2f855a")
OUTCOME_COLOURS = {
    BeatRunOutcome.SUCCEEDED: "#5aa469",
    BeatRunOutcome.FAILED: "#d1495b",
    BeatRunOutcome.RETRYING: "#e6a100",
    BeatRunOutcome.RUNNING: "#3d5a80",
}
NEUTRAL = "#9e9e9e"


def _empty(message: str) -> SafeString:
    return chart_img(empty_chart(message), alt=message)


def _policy_colour(index: int) -> str:
    return POLICY_COLOURS[index % len(POLICY_COLOURS)]


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def confusion_matrix_chart(model: ActiveModel | None) -> SafeString:
    if model is None:
        return _empty("No mood model is active yet, so there is no confusion matrix")
    if not model.has_confusion:
        return _empty(
            f"Model v{model.version.pk} has no held-out metrics (it was registered without an "
            "evaluation), so there is no confusion matrix"
        )
    metrics = model.metrics
    labels = list(metrics["labels"])
    matrix = np.asarray(metrics["confusion"], dtype=np.float64)
    row_sums = matrix.sum(axis=1, keepdims=True)
    recall = np.divide(matrix, row_sums, out=np.zeros_like(matrix), where=row_sums > 0)
    size = len(labels)
    figure = new_figure(width=max(3.2, 0.9 * size + 2.2), height=max(2.6, 0.7 * size + 1.6))
    axes = figure.add_subplot()
    image = axes.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    for i in range(size):
        for j in range(size):
            axes.text(
                j,
                i,
                f"{int(matrix[i, j])}\n{recall[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if recall[i, j] > 0.5 else "black",
            )
    names = [model.display_name(label) for label in labels]
    # The label above its name ("Q2" over "tense / angry"), so long names do not crowd.
    ticks = [name.replace(" ", "\n", 1) for name in names]
    axes.set_xticks(range(size), ticks, fontsize=8)
    axes.set_yticks(range(size), ticks, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    figure.colorbar(image, ax=axes, fraction=0.046, label="recall")
    accuracy, macro_f1, n = metrics.get("accuracy"), metrics.get("macro_f1"), metrics.get("n")
    summary = ", ".join(
        part
        for part in (
            f"accuracy {accuracy:.3f}" if accuracy is not None else "",
            f"macro-F1 {macro_f1:.3f}" if macro_f1 is not None else "",
            f"n = {n}" if n is not None else "",
        )
        if part
    )
    recalls = "; ".join(f"{name} recall {recall[i, i]:.0%}" for i, name in enumerate(names))
    return chart_img(
        figure,
        alt=f"Held-out confusion matrix of model v{model.version.pk} ({summary}): {recalls}",
    )


def emotion_distribution_chart(
    distribution: EmotionDistribution, *, model: ActiveModel | None
) -> SafeString:
    if distribution.tracks == 0:
        return _empty("The catalogue has no tracks yet")
    if model is None:
        return _empty(
            f"No mood model is active, so none of the {distribution.tracks:,} tracks has an "
            "emotion yet"
        )
    names = list(distribution.display_names)
    counts = list(distribution.counts)
    colours = [emotion_colour(i) for i in range(len(names))]
    if distribution.tagged_by_other_versions:
        names.append("older model")
        counts.append(distribution.tagged_by_other_versions)
        colours.append("#c7c7c7")
    names.append("not tagged")
    counts.append(distribution.untagged)
    colours.append(NEUTRAL)
    figure = new_figure()
    axes = figure.add_subplot()
    bars = axes.bar(range(len(names)), counts, color=colours)
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts], fontsize=8)
    axes.set_xticks(range(len(names)), names, fontsize=8)
    axes.set_ylabel("tracks")
    axes.set_title(
        f"{distribution.tracks:,} tracks; {distribution.tagged:,} tagged by model "
        f"v{model.version.pk}",
        fontsize=9,
    )
    axes.margins(y=0.15)
    parts = ", ".join(f"{name}: {count:,}" for name, count in zip(names, counts, strict=True))
    return chart_img(
        figure, alt=f"Tracks per emotion, as model v{model.version.pk} tags them: {parts}"
    )


def draw_catalogue_points(
    axes, sample: ValenceArousalSample, *, alpha: float = 0.6
) -> tuple[np.ndarray, list[str]]:
    """The catalogue scatter on ``axes``: the sample's points coloured by emotion, the
    quadrant lines, the unit square. Returns the points and a summary per emotion for the
    alt text. Shared by the dashboard and the journey page."""
    points = np.array([(valence, arousal) for valence, arousal, _ in sample.points]).reshape(-1, 2)
    labels = np.array([label for *_, label in sample.points])
    summary = []
    for index, (label, name) in enumerate(zip(sample.labels, sample.display_names, strict=True)):
        mine = points[labels == label]
        if not len(mine):
            continue
        axes.scatter(
            mine[:, 0], mine[:, 1], s=9, alpha=alpha, color=emotion_colour(index),
            label=name, linewidths=0,
        )  # fmt: skip
        valence, arousal = mine.mean(axis=0)
        summary.append(f"{name}: {len(mine):,} around ({valence:.2f}, {arousal:.2f})")
    axes.axhline(0.5, color=NEUTRAL, linewidth=0.6)
    axes.axvline(0.5, color=NEUTRAL, linewidth=0.6)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_aspect("equal")
    axes.set_xlabel("valence")
    axes.set_ylabel("arousal")
    return points, summary


def valence_arousal_chart(sample: ValenceArousalSample, *, model: ActiveModel | None) -> SafeString:
    if model is None:
        return _empty("No mood model is active, so no track has a valence/arousal point yet")
    version = model.version.pk
    if sample.tagged == 0:
        return _empty(f"No track is tagged by model v{version} yet")
    if not sample.points:
        message = (
            f"None of the {sample.tagged:,} tracks tagged by model v{version} has a "
            "valence/arousal point:\nits emotions are not the four quadrants and it has no "
            "valence/arousal head"
        )
        return chart_img(empty_chart(message), alt=message.replace("\n", " "))
    figure = new_figure(width=6.0, height=4.0)
    axes = figure.add_subplot()
    points, summary = draw_catalogue_points(axes, sample)
    figure.legend(fontsize=8, loc="outside right upper", markerscale=2)
    shown = (
        f"a sample of {len(points):,} of the {sample.tagged:,} tagged tracks (one in every "
        f"{sample.step:,} by track id)"
        if sample.sampled
        else f"all {len(points):,} tracks"
    )
    axes.set_title(
        f"Model v{version}: {len(points):,} of {sample.tagged:,} tagged tracks"
        + (f" (1 in {sample.step:,} by id)" if sample.sampled else ""),
        fontsize=9,
    )
    return chart_img(
        figure,
        alt=f"Catalogue in the valence/arousal plane, model v{version}, {shown}: "
        + "; ".join(summary),
    )


def analysis_states_chart(states: AnalysisStates) -> SafeString:
    if states.total == 0:
        return _empty("No track has been analysed yet")
    done = states.count("done")
    names = ["pending", "running", "done (current)", "done (stale)", "failed"]
    counts = [
        states.count("pending"),
        states.count("running"),
        done - states.stale,
        states.stale,
        states.count("failed"),
    ]
    colours = ["#e6a100", "#3d5a80", "#5aa469", "#a3c9a8", "#d1495b"]
    figure = new_figure(height=2.4)
    axes = figure.add_subplot()
    bars = axes.barh(range(len(names)), counts, color=colours)
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts], fontsize=8, padding=2)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("track analyses")
    axes.margins(x=0.15)
    parts = ", ".join(f"{name}: {count:,}" for name, count in zip(names, counts, strict=True))
    return chart_img(figure, alt=f"Audio analyses by state: {parts}")


def _no_answers(acceptance: Acceptance) -> str | None:
    if acceptance.total.answered:
        return None
    weeks = len(acceptance.weeks)
    if acceptance.total.unanswered:
        return (
            f"None of the {acceptance.total.unanswered:,} recommendations served in the last "
            f"{weeks} weeks has been answered yet"
        )
    return f"No recommendations served in the last {weeks} weeks"


def acceptance_per_week_chart(acceptance: Acceptance) -> SafeString:
    message = _no_answers(acceptance)
    if message:
        return _empty(message)
    figure = new_figure()
    axes = figure.add_subplot()
    described = []
    for index, policy in enumerate(acceptance.policies):
        weekly = acceptance.per_week(policy=policy)
        rates = [np.nan if counts.rate is None else counts.rate for counts in weekly]
        axes.plot(
            acceptance.weeks,
            rates,
            marker="o",
            color=_policy_colour(index),
            label=f"{policy} ({_percent(acceptance.for_policy(policy).rate)} overall)",
        )
        answered = [
            f"{week:%d %b} {_percent(counts.rate)} of {counts.answered}"
            for week, counts in zip(acceptance.weeks, weekly, strict=True)
            if counts.answered
        ]
        described.append(f"{policy}: " + ", ".join(answered))
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("accepted / answered")
    axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(fontsize=8, title="policy", title_fontsize=8)
    axes.grid(alpha=0.3)
    return chart_img(
        figure,
        alt="Acceptance rate per week (weeks starting Monday) and policy: " + "; ".join(described),
    )


def acceptance_per_emotion_chart(acceptance: Acceptance) -> SafeString:
    message = _no_answers(acceptance)
    if message:
        return _empty(message)
    figure = new_figure()
    axes = figure.add_subplot()
    labels = acceptance.labels
    width = 0.8 / max(len(acceptance.policies), 1)
    described = []
    for index, policy in enumerate(acceptance.policies):
        per_emotion = acceptance.per_emotion(policy=policy)
        positions = np.arange(len(labels)) + (index - (len(acceptance.policies) - 1) / 2) * width
        heights = [counts.rate or 0.0 for counts in per_emotion]
        bars = axes.bar(positions, heights, width=width, color=_policy_colour(index), label=policy)
        axes.bar_label(
            bars,
            labels=[f"n={counts.answered}" if counts.answered else "" for counts in per_emotion],
            fontsize=7,
        )
        described.append(
            f"{policy}: "
            + ", ".join(
                f"{label} {_percent(counts.rate)} of {counts.answered}"
                for label, counts in zip(labels, per_emotion, strict=True)
            )
        )
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("accepted / answered")
    axes.set_xlabel("target emotion")
    axes.legend(fontsize=8, title="policy", title_fontsize=8)
    return chart_img(
        figure,
        alt=f"Acceptance rate per target emotion and policy, last {len(acceptance.weeks)} "
        "weeks: " + "; ".join(described),
    )


def plays_per_day_chart(daily: DailyPlays) -> SafeString:
    days = len(daily.days)
    if daily.total == 0:
        return _empty(f"No plays in the last {days} days")
    figure = new_figure()
    axes = figure.add_subplot()
    axes.bar(daily.days, daily.counts, color="#3d5a80", width=0.8)
    axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.tick_params(axis="x", labelsize=8)
    axes.set_ylabel("plays")
    busiest = max(range(days), key=lambda i: daily.counts[i])
    axes.set_title(
        f"{daily.total:,} plays in the last {days} days; busiest "
        f"{daily.days[busiest]:%d %b} ({daily.counts[busiest]:,})",
        fontsize=9,
    )
    return chart_img(
        figure,
        alt=f"Plays per day over the last {days} days: {daily.total:,} in all, busiest "
        f"{daily.days[busiest]:%Y-%m-%d} with {daily.counts[busiest]:,}, "
        f"{sum(1 for count in daily.counts if count == 0)} days without plays",
    )


def beat_runs_chart(entries: list[BeatEntry], *, now: dt.datetime) -> SafeString:
    if not any(entry.runs for entry in entries):
        return _empty("No beat task has run since runs were first recorded")
    figure = new_figure(width=9.6, height=0.4 * len(entries) + 1.3)
    axes = figure.add_subplot()
    for row, entry in enumerate(entries):
        for outcome, colour in OUTCOME_COLOURS.items():
            times = [run.started_at for run in entry.runs if run.outcome == outcome]
            if times:
                axes.scatter(times, [row] * len(times), color=colour, s=30, zorder=3)
    for outcome, colour in OUTCOME_COLOURS.items():
        axes.scatter([], [], color=colour, label=BeatRunOutcome(outcome).label)
    # At least the last day, so a beat that runs every few minutes shows as a row of dots
    # and one that stopped shows as a gap up to now (the dashed line).
    earliest = min(run.started_at for entry in entries for run in entry.runs)
    start = min(earliest, now - dt.timedelta(days=1))
    axes.set_xlim(start, now + (now - start) * 0.03)
    axes.axvline(now, color=NEUTRAL, linewidth=1, linestyle="--")
    axes.set_yticks(range(len(entries)), [entry.name for entry in entries], fontsize=8)
    axes.set_ylim(len(entries) - 0.5, -0.5)
    axes.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M"))
    axes.tick_params(axis="x", labelsize=7)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=4, frameon=False)
    described = []
    for entry in entries:
        last = entry.last_run
        if last is None:
            described.append(f"{entry.name}: no recorded run")
        else:
            described.append(
                f"{entry.name}: last {last.get_outcome_display()} at "
                f"{last.started_at:%Y-%m-%d %H:%M}, {entry.failures} failed of {len(entry.runs)}"
            )
    return chart_img(figure, alt="Latest runs of beat's tasks: " + "; ".join(described))
