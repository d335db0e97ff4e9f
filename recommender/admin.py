from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common.admin_tables import (
    CHART_WIDTH_INCHES,
    EMPTY,
    ViewOnlyAdmin,
    key_value_table,
    percent,
    readable_value,
    rows_table,
    short_datetime,
    truncated,
)
from common.charts import chart_img, emotion_colour, empty_chart, new_figure
from emotion.admin import describe_valence_arousal
from recommender.models import (
    BeatRun,
    Feedback,
    ListenerMoodState,
    MoodSnapshot,
    Recommendation,
)
from recommender.selectors import acceptance_rate, latest_snapshot
from users.admin import ListenerAdmin, ListenerFilter, listener_name
from users.models import User

# The listener page's chart and table: enough history to see a trend, bounded so a heavy
# listener's page stays quick.
MOOD_CHART_SNAPSHOTS = 200
LAST_RECOMMENDATIONS = 10


@admin.register(MoodSnapshot)
class MoodSnapshotAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = ("created", listener_name, "basis", "label", "confidence_percent")
    list_filter = (ListenerFilter, "basis", "label", "model_version")
    search_fields = ("listener__username",)
    search_help_text = "Listener name."
    list_select_related = ("listener",)
    date_hierarchy = "created_at"
    fields = (
        "listener",
        "created_at",
        "basis",
        "label",
        "confidence_percent",
        "valence_arousal",
        "model_version",
        "window_start",
        "window_end",
        "distribution",
        "tracks_used",
        "tracks_skipped",
    )
    readonly_fields = (
        "confidence_percent",
        "valence_arousal",
        "distribution",
        "tracks_used",
        "tracks_skipped",
    )

    @admin.display(description="created", ordering="created_at")
    def created(self, snapshot: MoodSnapshot) -> str:
        return short_datetime(snapshot.created_at)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, snapshot: MoodSnapshot) -> str:
        return percent(snapshot.confidence)

    @admin.display(description="valence / arousal")
    def valence_arousal(self, snapshot: MoodSnapshot) -> str:
        return describe_valence_arousal(
            valence=snapshot.valence,
            arousal=snapshot.arousal,
            source=snapshot.valence_arousal_source,
        )

    @admin.display(description="distribution")
    def distribution(self, snapshot: MoodSnapshot) -> SafeString:
        return probability_table(snapshot.probabilities)

    @admin.display(description="tracks behind the mood")
    def tracks_used(self, snapshot: MoodSnapshot) -> SafeString:
        return rows_table(
            snapshot.tracks,
            columns=[
                ("title", "title"),
                ("artist", "artist"),
                ("plays", "plays"),
                ("weight", "weight"),
            ],
        )

    @admin.display(description="top tracks left out")
    def tracks_skipped(self, snapshot: MoodSnapshot) -> SafeString:
        return rows_table(
            snapshot.skipped,
            columns=[("track_id", "track id"), ("plays", "plays"), ("reason", "reason")],
        )


def probability_table(probabilities: dict[str, float]) -> SafeString:
    """Each emotion's probability, most likely first, with a bar to compare them at a glance."""
    if not probabilities:
        return format_html("{}", EMPTY)
    labels = sorted(probabilities)
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td><td><span style="display:inline-block;'
        'width:{}px;height:0.8em;background:{}"></span></td></tr>',
        (
            (label, percent(probabilities[label]), round(160 * probabilities[label]), colour)
            for label, colour in sorted(
                ((label, emotion_colour(labels.index(label))) for label in labels),
                key=lambda pair: -probabilities[pair[0]],
            )
        ),
    )
    return format_html('<table class="readable">{}</table>', rows)


class FeedbackFilter(admin.SimpleListFilter):
    title = "answer"
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [*Feedback.choices, ("none", "unanswered")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(feedback="")
        if value in Feedback.values:
            return queryset.filter(feedback=value)
        return queryset


@admin.register(Recommendation)
class RecommendationAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = ("served", listener_name, "short_track", "emotion", "rank", "feedback")
    list_filter = (ListenerFilter, FeedbackFilter, "policy", "target_label", "created_at")
    search_fields = ("listener__username", "track__title", "track__artist")
    search_help_text = "Listener name, track title or artist."
    list_select_related = ("listener", "track")
    date_hierarchy = "created_at"
    fields = (
        "listener",
        "track",
        "created_at",
        "rank",
        "policy",
        "target_label",
        "feedback",
        "feedback_at",
        "why",
        "scores",
        "snapshot",
        "model_version",
    )
    readonly_fields = ("why", "scores")

    @admin.display(description="emotion", ordering="target_label")
    def emotion(self, recommendation: Recommendation) -> str:
        return recommendation.target_label

    @admin.display(description="served", ordering="created_at")
    def served(self, recommendation: Recommendation) -> str:
        return short_datetime(recommendation.created_at)

    @admin.display(description="track", ordering="track__title")
    def short_track(self, recommendation: Recommendation) -> str:
        return truncated(str(recommendation.track))

    @admin.display(description="why")
    def why(self, recommendation: Recommendation) -> SafeString:
        explanation = recommendation.explanation or {}
        target = explanation.get("target_emotion") or {}
        emotion = target.get("display_name") or recommendation.target_label
        if target.get("confidence") is None:
            likelihood = "chosen, not inferred"
        else:
            likelihood = f"{percent(target['confidence'])} likely"
        top_tracks = rows_table(
            explanation.get("top_tracks") or [],
            columns=[("title", "title"), ("artist", "artist"), ("plays", "plays")],
        )
        return format_html(
            "<p>{}</p>{}",
            explanation.get("reason") or EMPTY,
            key_value_table(
                {
                    "emotion": f"{emotion} ({likelihood})",
                    "mood basis": explanation.get("mood_basis"),
                    "policy": explanation.get("policy"),
                    "top tracks behind the mood": top_tracks,
                }
            ),
        )

    @admin.display(description="scores")
    def scores(self, recommendation: Recommendation) -> SafeString:
        ranking = (recommendation.explanation or {}).get("ranking") or {}
        # Older recommendations carry no ranking terms: their stored probability stands in.
        terms = ranking or {"emotion_probability": recommendation.track_probability}
        return key_value_table(
            {"score": recommendation.score, **terms},
            names={
                "emotion_probability": "the track's probability of the emotion",
                "plays_recently": "plays in the last 30 days (all listeners)",
                "same_artist_above": "tracks of the same artist ranked above",
            },
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The rate follows the admin's filters: per listener, policy, emotion or period.
            response.context_data["acceptance"] = acceptance_rate(
                recommendations=changelist.queryset
            )
        return response


@admin.register(ListenerMoodState)
class ListenerMoodStateAdmin(admin.ModelAdmin):
    list_display = (listener_name, "declared_label", "confirmed_label", "rejected_list", "updated")
    list_display_links = (listener_name,)
    list_select_related = ("listener",)
    list_filter = ("confirmed_label", "declared_label")
    search_fields = ("listener__username",)
    search_help_text = "Listener name."
    raw_id_fields = ("listener",)
    fields = (
        "listener",
        "declared_label",
        "declared_at",
        "confirmed_label",
        "rejected",
        "answers_per_emotion",
        "refresh_requested_at",
    )
    readonly_fields = ("rejected", "answers_per_emotion")

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, state: ListenerMoodState) -> str:
        return short_datetime(state.updated_at)

    @admin.display(description="rejected")
    def rejected_list(self, state: ListenerMoodState) -> str:
        return readable_value(state.rejected_labels)

    @admin.display(description="rejected since the last accept")
    def rejected(self, state: ListenerMoodState) -> str:
        return readable_value(state.rejected_labels)

    @admin.display(description="answers per emotion")
    def answers_per_emotion(self, state: ListenerMoodState) -> SafeString:
        return rows_table(
            [
                {
                    "emotion": label,
                    "accept": counts.get("accept", 0),
                    "reject": counts.get("reject", 0),
                }
                for label, counts in sorted(state.label_feedback.items())
            ],
            columns=[("emotion", "emotion"), ("accept", "accepts"), ("reject", "rejects")],
        )


@admin.register(BeatRun)
class BeatRunAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    """Read-only: the rows are the task signals' record of what beat ran (the dashboard's
    queue-health panel); an edited row would no longer say what happened."""

    list_display = ("task_name", "started", "outcome", "seconds_taken", "short_result")
    list_filter = ("outcome", "task_name")
    search_fields = ("task_name", "error")
    search_help_text = "Task name or error text."

    @admin.display(description="started", ordering="started_at")
    def started(self, run: BeatRun) -> str:
        return short_datetime(run.started_at)

    @admin.display(description="seconds")
    def seconds_taken(self, run: BeatRun) -> str:
        return EMPTY if run.seconds is None else f"{run.seconds:.1f}"

    @admin.display(description="result")
    def short_result(self, run: BeatRun) -> str:
        return truncated(run.error or run.result, 60)


admin.site.unregister(User)


@admin.register(User)
class ListenerActivityAdmin(ListenerAdmin):
    """The listener page: a summary of their listening, mood and answers comes first."""

    readonly_fields = (
        *ListenerAdmin.readonly_fields,
        "summary",
        "mood_over_time",
        "last_recommendations",
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        activity = ("summary", "mood_over_time", "last_recommendations")
        return (("Listening, mood and recommendations", {"fields": activity}), *fieldsets)

    @admin.display(description="summary")
    def summary(self, listener: User) -> SafeString:
        snapshot = latest_snapshot(listener=listener)
        rate = acceptance_rate(recommendations=listener.recommendations.all())
        week_ago = timezone.now() - timedelta(days=7)
        if snapshot is None:
            mood = "unknown (nothing inferred yet)"
        else:
            point = describe_valence_arousal(
                valence=snapshot.valence,
                arousal=snapshot.arousal,
                source=snapshot.valence_arousal_source,
            )
            mood = (
                f"{snapshot.label or 'spread'} ({percent(snapshot.confidence)}, "
                f"{snapshot.get_basis_display()}, {snapshot.created_at:%Y-%m-%d %H:%M}); {point}"
            )
        return key_value_table(
            {
                "plays": format_html(
                    '{} this week · <a href="{}?listener={}">{} in all</a>',
                    listener.plays.filter(played_at__gte=week_ago).count(),
                    reverse("admin:listening_play_changelist"),
                    listener.pk,
                    listener.plays.count(),
                ),
                "current mood": format_html(
                    '{} · <a href="{}?listener={}">mood history</a>',
                    mood,
                    reverse("admin:recommender_moodsnapshot_changelist"),
                    listener.pk,
                ),
                "acceptance": format_html(
                    '{} ({} accepted of {} answered) · <a href="{}?listener={}">{} '
                    "recommendations</a>",
                    EMPTY if rate.rate is None else f"{rate.rate:.2f}",
                    rate.accepted,
                    rate.answered,
                    reverse("admin:recommender_recommendation_changelist"),
                    listener.pk,
                    listener.recommendations.count(),
                ),
            }
        )

    @admin.display(description="mood over time")
    def mood_over_time(self, listener: User) -> SafeString:
        return mood_chart(listener=listener)

    @admin.display(description="last recommendations")
    def last_recommendations(self, listener: User) -> SafeString:
        recommendations = listener.recommendations.select_related("track")[:LAST_RECOMMENDATIONS]
        if not recommendations:
            return format_html("{}", "none yet")
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
            (
                (
                    short_datetime(recommendation.created_at),
                    reverse("admin:recommender_recommendation_change", args=[recommendation.pk]),
                    truncated(str(recommendation.track)),
                    recommendation.target_label,
                    recommendation.get_feedback_display() or "unanswered",
                )
                for recommendation in recommendations
            ),
        )
        return format_html(
            '<table class="readable"><tr><th>served</th><th>track</th><th>emotion</th>'
            "<th>answer</th></tr>{}</table>",
            rows,
        )


def mood_chart(*, listener: User) -> SafeString:
    """The listener's mood distributions as stacked areas over time, with their accepts (▲,
    above) and rejects (▼, below) in the colour of the emotion recommended."""
    snapshots = list(listener.mood_snapshots.order_by("-created_at")[:MOOD_CHART_SNAPSHOTS])[::-1]
    if not snapshots:
        return chart_img(empty_chart("no mood inferred yet"), alt="mood over time: none yet")
    labels = sorted({label for snapshot in snapshots for label in snapshot.probabilities})
    now = timezone.now()
    # Each distribution holds until the next snapshot, and the last one until now.
    end = max(now, snapshots[-1].created_at + timedelta(minutes=1))
    times = [snapshot.created_at for snapshot in snapshots] + [end]
    shares = [
        [snapshot.probabilities.get(label, 0.0) for snapshot in snapshots]
        + [snapshots[-1].probabilities.get(label, 0.0)]
        for label in labels
    ]
    figure = new_figure(width=CHART_WIDTH_INCHES, height=3.0)
    axes = figure.add_subplot()
    axes.stackplot(
        times,
        *shares,
        labels=labels,
        colors=[emotion_colour(index) for index in range(len(labels))],
        step="post",
        alpha=0.85,
    )
    answers = listener.recommendations.filter(feedback_at__gte=snapshots[0].created_at).values_list(
        "feedback_at", "feedback", "target_label"
    )
    for action, marker, height in ((Feedback.ACCEPT, "^", 1.05), (Feedback.REJECT, "v", -0.05)):
        points = [(at, label) for at, feedback, label in answers if feedback == action]
        if points:
            axes.scatter(
                [at for at, _ in points],
                [height] * len(points),
                marker=marker,
                s=40,
                c=[
                    emotion_colour(labels.index(label)) if label in labels else "#000000"
                    for _, label in points
                ],
                edgecolors="black",
                linewidths=0.6,
                clip_on=False,
                zorder=3,
            )
            # A grey legend entry: each marker's colour is the emotion recommended.
            axes.scatter(
                [], [], marker=marker, c="#bbbbbb", edgecolors="black", label=f"{action}ed"
            )
    axes.set_ylim(-0.1, 1.1)
    axes.set_ylabel("probability")
    axes.set_xlim(times[0], times[-1])
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    figure.autofmt_xdate()
    return chart_img(
        figure,
        alt=f"mood of {listener.username} over {len(snapshots)} snapshots, accepts and rejects",
    )


# Emotion journeys register their own pages.
from recommender import journey_admin  # noqa: E402, F401
