"""Admin pages for emotion journeys: the path drawn over the catalogue in the valence/arousal
plane, with the listener's answers marked, and the tracks in order."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from matplotlib.patches import Circle, Rectangle

from common.admin_tables import EMPTY, ViewOnlyAdmin, key_value_table, rows_table, short_datetime
from common.charts import chart_img, new_figure
from recommender.dashboard.charts import NEUTRAL, draw_catalogue_points
from recommender.dashboard.selectors import (
    active_model,
    catalogue_emotions,
    catalogue_valence_arousal,
)
from recommender.journey_selectors import journey_items
from recommender.journeys import journey_progress
from recommender.models import Feedback, Journey, JourneyItem
from users.admin import ListenerFilter, listener_name

ANSWER_MARKERS = {
    Feedback.ACCEPT: ("^", "#2f855a", "accepted"),
    Feedback.REJECT: ("v", "#c53030", "rejected"),
    "": ("o", "#ffffff", "not answered yet"),
}


@admin.register(Journey)
class JourneyAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = ("created", listener_name, "route", "length", "curve", "answers")
    list_filter = (ListenerFilter, "target_label", "curve", "created_at")
    search_fields = ("listener__username",)
    search_help_text = "Listener name."
    list_select_related = ("listener",)
    date_hierarchy = "created_at"
    fields = (
        "listener",
        "created_at",
        "plane",
        "progress",
        "tracks",
        "length",
        "curve",
        "max_step",
        "start_snapshot",
        "model_version",
        "replans",
    )
    readonly_fields = ("plane", "progress", "tracks")

    @admin.display(description="created", ordering="created_at")
    def created(self, journey: Journey) -> str:
        return short_datetime(journey.created_at)

    @admin.display(description="from → to")
    def route(self, journey: Journey) -> str:
        return journey_route(journey)

    @admin.display(description="answers")
    def answers(self, journey: Journey) -> str:
        progress = journey_progress(journey=journey, items=list(journey_items(journey=journey)))
        return f"{progress.accepted} ✓ {progress.rejected} ✗ of {progress.planned}"

    @admin.display(description="in the valence/arousal plane")
    def plane(self, journey: Journey) -> SafeString:
        return journey_chart(journey=journey)

    @admin.display(description="progress")
    def progress(self, journey: Journey) -> SafeString:
        progress = journey_progress(journey=journey, items=list(journey_items(journey=journey)))
        return key_value_table(
            {
                **progress.__dict__,
                "replans": journey.replans,
            },
            names={"reaches_target": "last track in the target region"},
        )

    @admin.display(description="tracks")
    def tracks(self, journey: Journey) -> SafeString:
        rows = []
        for item in journey_items(journey=journey, include_replaced=True):
            recommendation = item.recommendation
            link = (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:recommender_recommendation_change", args=[recommendation.pk]),
                    item.track,
                )
                if recommendation
                else str(item.track)
            )
            rows.append(
                {
                    "position": item.position,
                    "plan": item.plan,
                    "track": link,
                    "point": f"({item.valence:.2f}, {item.arousal:.2f})",
                    "step": f"{item.step:.3f}",
                    "answer": "replaced" if item.replaced else (
                        recommendation.feedback if recommendation and recommendation.feedback
                        else "unanswered"
                    ),
                    "reason": item.reason,
                }
            )  # fmt: skip
        return rows_table(rows)


def journey_route(journey: Journey) -> str:
    """ "Q3 → Q1", or the points where the start or target is one."""
    start = journey.start_label or f"({journey.start_valence:.2f}, {journey.start_arousal:.2f})"
    target = journey.target_label or f"({journey.target_valence:.2f}, {journey.target_arousal:.2f})"
    return f"{start} → {target}"


def journey_chart(*, journey: Journey) -> SafeString:
    """The journey over the catalogue scatter (the dashboard's sample of the active model's
    points): start ★, target region shaded, waypoints ×, the tracks joined in order and
    marked by answer (▲ accepted, ▼ rejected, ○ not yet), replaced tracks faint."""
    model = active_model()
    sample = catalogue_valence_arousal(distribution=catalogue_emotions(model=model), model=model)
    figure = new_figure(width=6.5, height=4.5)
    axes = figure.add_subplot()
    _, summary = draw_catalogue_points(axes, sample, alpha=0.25)
    if journey.target_label:
        corner = (
            0.5 if journey.target_valence >= 0.5 else 0.0,
            0.5 if journey.target_arousal >= 0.5 else 0.0,
        )
        region = Rectangle(corner, 0.5, 0.5, color="#2f855a", alpha=0.08, linewidth=0)
    else:
        region = Circle(
            (journey.target_valence, journey.target_arousal),
            journey.target_radius,
            color="#2f855a",
            alpha=0.12,
            linewidth=0,
        )
    axes.add_patch(region)
    items = list(journey_items(journey=journey, include_replaced=True))
    current = [item for item in items if not item.replaced]
    replaced = [item for item in items if item.replaced]
    if current:
        axes.plot(
            [item.waypoint_valence for item in current],
            [item.waypoint_arousal for item in current],
            "x", color=NEUTRAL, markersize=5, label="waypoints",
        )  # fmt: skip
        axes.plot(
            [journey.start_valence, *(item.valence for item in current)],
            [journey.start_arousal, *(item.arousal for item in current)],
            "-", color="#333333", linewidth=1.0,
        )  # fmt: skip
    if replaced:
        axes.scatter(
            [item.valence for item in replaced],
            [item.arousal for item in replaced],
            marker="o", s=18, facecolors="none", edgecolors=NEUTRAL, label="replaced by a re-plan",
        )  # fmt: skip
    counts = {}
    for answer, (marker, colour, name) in ANSWER_MARKERS.items():
        mine = [item for item in current if _answer(item) == answer]
        counts[name] = len(mine)
        if mine:
            axes.scatter(
                [item.valence for item in mine],
                [item.arousal for item in mine],
                marker=marker, s=46, color=colour, edgecolors="#222222", linewidths=0.7,
                label=name, zorder=3,
            )  # fmt: skip
    axes.scatter(
        [journey.start_valence], [journey.start_arousal],
        marker="*", s=160, color="#222222", label="start", zorder=2.5,
    )  # fmt: skip
    for item in current:
        axes.annotate(
            str(item.position), (item.valence, item.arousal),
            textcoords="offset points", xytext=(4, 4), fontsize=7,
        )  # fmt: skip
    axes.set_title(f"Journey {journey.pk}: {journey_route(journey)}", fontsize=9)
    figure.legend(fontsize=7, loc="outside right upper", markerscale=1)
    answered = ", ".join(f"{count} {name}" for name, count in counts.items())
    return chart_img(
        figure,
        alt=f"Journey {journey.pk} in the valence/arousal plane from "
        f"({journey.start_valence:.2f}, {journey.start_arousal:.2f}) to "
        f"{journey.target_label or 'the target point'}: {len(current)} tracks ({answered}), "
        f"{len(replaced)} replaced; over the catalogue (" + ("; ".join(summary) or EMPTY) + ")",
    )


def _answer(item: JourneyItem) -> str:
    return item.recommendation.feedback if item.recommendation else ""
