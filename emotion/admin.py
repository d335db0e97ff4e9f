from __future__ import annotations

import logging
import threading

import numpy as np
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalogue.admin import TrackAdmin
from catalogue.models import Track
from common.admin_tables import (
    CHART_WIDTH_INCHES,
    EMPTY,
    key_value_table,
    percent,
    short_datetime,
    truncated,
)
from common.charts import chart_img, emotion_colour, empty_chart, new_figure
from common.tasks import tasks_run_in_process
from emotion.features.definition import (
    ENERGY_SLICE,
    FORMANT_SLICE,
    MFCC_SLICE,
    PITCH_SLICE,
    ZCR_SLICE,
)
from emotion.ml import ArtifactError
from emotion.ml.inference import ATTENTION
from emotion.ml.presets import DEFAULT_PRESET, PRESET_CHOICES
from emotion.models import (
    AnalysisStatus,
    CuratorLabel,
    MoodModelVersion,
    TrackAnalysis,
    TrackEmotion,
    TrainingRun,
    TrainingSource,
    TrainingTrigger,
    ValenceArousalSource,
)
from emotion.selectors import TrackSegments, active_model_version, track_segments
from emotion.services.analysis import request_track_analysis
from emotion.services.registry import activate_model_version, roll_back_model_version
from emotion.services.retraining import mark_training_run_failed, start_training_run
from emotion.tasks import train_mood_model_run

logger = logging.getLogger(__name__)

LLD_GROUPS = (
    ("MFCC", MFCC_SLICE),
    ("formant", FORMANT_SLICE),
    ("energy", ENERGY_SLICE),
    ("pitch", PITCH_SLICE),
    ("ZCR", ZCR_SLICE),
)


@admin.register(TrackAnalysis)
class TrackAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "short_track",
        "status",
        "n_segments",
        "audio_seconds",
        "extraction_cpu_seconds",
        "finished",
    )
    list_filter = ("status", "feature_set_version", "segment_seconds")
    search_fields = ("track__title", "track__artist", "failure_reason")
    search_help_text = "Track title or artist, or words of the failure reason."
    list_select_related = ("track",)
    raw_id_fields = ("track",)
    readonly_fields = [field.name for field in TrackAnalysis._meta.fields if field.name != "track"]
    actions = ["reanalyse"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_queryset(self, request):
        # The feature matrix is not shown and can be megabytes per track.
        return super().get_queryset(request).defer("features")

    @admin.display(description="track", ordering="track__title")
    def short_track(self, analysis: TrackAnalysis) -> str:
        return truncated(str(analysis.track))

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, analysis: TrackAnalysis) -> str:
        return short_datetime(analysis.finished_at)

    @admin.action(description="Re-analyse the audio of the selected tracks")
    def reanalyse(self, request, queryset) -> None:
        with transaction.atomic():
            analyses = list(queryset.select_related("track"))
            for analysis in analyses:
                request_track_analysis(track=analysis.track)
        self.message_user(request, f"Queued {len(analyses)} analyses.", messages.SUCCESS)


@admin.register(MoodModelVersion)
class MoodModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "family",
        "macro_f1",
        "accuracy",
        "short_labels",
        "created",
    )
    list_filter = ("is_active", "feature_set_version")
    readonly_fields = (
        "is_active",
        "activated_at",
        "created_at",
        "label_list",
        "feature_set_version",
        "segment_seconds",
        "metrics_table",
        "confusion_matrix",
        "architecture_table",
        "trained_on_table",
        "evaluated_on_table",
        "artifact",
    )
    fields = readonly_fields
    actions = ["activate", "roll_back"]

    def has_add_permission(self, request) -> bool:
        # Versions come from training runs (or train_mood_model); none is typed in by hand.
        return False

    @admin.display(description="labels")
    def short_labels(self, version: MoodModelVersion) -> str:
        return ", ".join(version.labels)

    @admin.display(description="created", ordering="created_at")
    def created(self, version: MoodModelVersion) -> str:
        return short_datetime(version.created_at)

    @admin.display(description="family")
    def family(self, version: MoodModelVersion) -> str:
        """The preset a user chose; the architecture behind it shows on hover (the list must
        fit 1,280 px, and the version's page has the whole architecture)."""
        preset = version.architecture.get("preset")
        name = version.architecture.get("name")
        if preset and name and preset != name:
            return format_html('<span title="architecture: {}">{}</span>', name, preset)
        return preset or name or EMPTY

    @admin.display(description="architecture")
    def architecture_table(self, version: MoodModelVersion) -> SafeString:
        return key_value_table(version.architecture)

    @admin.display(description="trained on")
    def trained_on_table(self, version: MoodModelVersion) -> SafeString:
        return key_value_table(version.trained_on)

    @admin.display(description="evaluated on")
    def evaluated_on_table(self, version: MoodModelVersion) -> SafeString:
        return key_value_table(version.evaluated_on)

    @admin.display(description="labels")
    def label_list(self, version: MoodModelVersion) -> str:
        return ", ".join(
            f"{label} ({version.display_names.get(label, label)})" for label in version.labels
        )

    # Held-out scores; the short headings keep the list narrow (the page says "held-out").
    @admin.display(description="macro-F1")
    def macro_f1(self, version: MoodModelVersion) -> str:
        return _score(version.metrics.get("macro_f1"))

    @admin.display(description="accuracy")
    def accuracy(self, version: MoodModelVersion) -> str:
        return _score(version.metrics.get("accuracy"))

    @admin.display(description="held-out metrics")
    def metrics_table(self, version: MoodModelVersion) -> str:
        per_class = version.metrics.get("per_class") or {}
        if not per_class:
            return "not measured on held-out data"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    version.display_names.get(label, label),
                    _score(scores.get("precision")),
                    _score(scores.get("recall")),
                    _score(scores.get("f1")),
                    scores.get("support"),
                )
                for label, scores in per_class.items()
            ),
        )
        return format_html(
            "<p>accuracy {} · macro-F1 {} · n = {}</p><table><tr><th>emotion</th>"
            "<th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{}</table>",
            _score(version.metrics.get("accuracy")),
            _score(version.metrics.get("macro_f1")),
            version.metrics.get("n"),
            rows,
        )

    @admin.display(description="confusion matrix")
    def confusion_matrix(self, version: MoodModelVersion) -> str:
        if not version.confusion_image:
            return "—"
        return format_html(
            '<img src="{}" alt="held-out confusion matrix" style="max-width: 480px">',
            reverse("admin:emotion_moodmodelversion_confusion", args=[version.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<id:pk>/confusion.png",
                self.admin_site.admin_view(self.confusion_png),
                name="emotion_moodmodelversion_confusion",
            ),
            *super().get_urls(),
        ]

    def confusion_png(self, request, pk: int) -> FileResponse:
        # Served through the admin (staff only) rather than MEDIA_URL, which production may
        # not expose.
        version = get_object_or_404(MoodModelVersion, pk=pk)
        if not version.confusion_image:
            raise Http404("this version has no confusion-matrix image")
        return FileResponse(version.confusion_image.open("rb"), content_type="image/png")

    @admin.action(description="Activate the selected version (re-tags the catalogue)")
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            version = activate_model_version(version=queryset.get())
        except ArtifactError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(
            request, f"{version} is active; the catalogue is being re-tagged.", messages.SUCCESS
        )

    @admin.action(description="Roll back the selected active version to the one before it")
    def roll_back(self, request, queryset) -> None:
        active = queryset.filter(is_active=True).first()
        if active is None:
            self.message_user(request, "Select the active version to roll back.", messages.ERROR)
            return
        try:
            version = roll_back_model_version(current=active)
        except (ValueError, ArtifactError) as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"Rolled back: {version} is active again.", messages.SUCCESS)


@admin.register(TrackEmotion)
class TrackEmotionAdmin(admin.ModelAdmin):
    list_display = ("short_track", "label", "confidence_percent", "model_version", "tagged")
    list_filter = ("label", "model_version")
    search_fields = ("track__title", "track__artist")
    search_help_text = "Track title or artist."
    list_select_related = ("track", "model_version")
    fields = (
        "track",
        "label",
        "confidence_percent",
        "probability_table",
        "model_version",
        "tagged_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="track", ordering="track__title")
    def short_track(self, emotion: TrackEmotion) -> str:
        return truncated(str(emotion.track))

    @admin.display(description="tagged", ordering="tagged_at")
    def tagged(self, emotion: TrackEmotion) -> str:
        return short_datetime(emotion.tagged_at)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, emotion: TrackEmotion) -> str:
        return percent(emotion.confidence)

    @admin.display(description="probabilities")
    def probability_table(self, emotion: TrackEmotion) -> SafeString:
        return key_value_table(
            {label: percent(p) for label, p in sorted(emotion.probabilities.items())}
        )


@admin.register(CuratorLabel)
class CuratorLabelAdmin(admin.ModelAdmin):
    list_display = ("short_track", "label", "short_note", "updated")
    list_filter = ("label",)
    search_fields = ("track__title", "track__artist", "label")
    search_help_text = "Track title or artist, or the label."
    raw_id_fields = ("track",)
    list_select_related = ("track",)

    @admin.display(description="track", ordering="track__title")
    def short_track(self, label: CuratorLabel) -> str:
        return truncated(str(label.track))

    @admin.display(description="note")
    def short_note(self, label: CuratorLabel) -> str:
        return truncated(label.note)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, label: CuratorLabel) -> str:
        return short_datetime(label.updated_at)


class TrainingRunForm(forms.ModelForm):
    preset = forms.ChoiceField(
        label="architecture",
        choices=[(name, name) for name in PRESET_CHOICES],
        initial="default",
        help_text=f"default: {DEFAULT_PRESET}, the best in cross-validation",
    )

    class Meta:
        model = TrainingRun
        fields = ("source", "dataset_path", "label_column", "preset", "seed")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("source") == TrainingSource.DATASET and not cleaned.get("dataset_path"):
            raise ValidationError({"dataset_path": "A dataset run needs the folder to read."})
        return cleaned


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Adding a run starts it: on the training queue with a broker, in a background thread of
    this web process without one (see ``save_model``)."""

    form = TrainingRunForm
    list_display = (
        "__str__",
        "trigger",
        "preset",
        "short_progress",
        "new_f1",
        "active_f1",
    )
    list_filter = ("status", "trigger", "source")
    readonly_fields = (
        "status",
        "stage",
        "progress",
        "trigger",
        "outcome",
        "candidate_version",
        "baseline_version",
        "candidate_macro_f1",
        "baseline_macro_f1",
        "created_at",
        "started_at",
        "finished_at",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return TrainingRunForm.Meta.fields
        return (*TrainingRunForm.Meta.fields, *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*TrainingRunForm.Meta.fields, *self.readonly_fields)

    @admin.display(description="progress")
    def progress(self, run: TrainingRun) -> str:
        if run.max_epochs:
            return f"{run.stage} (epoch {run.epochs_done} of at most {run.max_epochs})"
        return run.stage or EMPTY

    @admin.display(description="new F1", ordering="candidate_macro_f1")
    def new_f1(self, run: TrainingRun) -> str:
        return _score(run.candidate_macro_f1)

    @admin.display(description="active F1", ordering="baseline_macro_f1")
    def active_f1(self, run: TrainingRun) -> str:
        return _score(run.baseline_macro_f1)

    @admin.display(description="progress")
    def short_progress(self, run: TrainingRun) -> str:
        return truncated(self.progress(run))

    def save_model(self, request, obj: TrainingRun, form, change: bool) -> None:
        if change:
            return
        # Without a broker a queued task runs at once, inside this request: the browser would
        # wait for the whole training (30 s and more), and the page it then shows was built
        # from the form's copy of the run, still "queued", while the row said "finished". So
        # here the run is only recorded, and trained in a thread of this web process once the
        # row is committed; the page says so, and a refresh shows its stage as it goes. A
        # broker-less server is a development set-up (scripts/serve): if it stops mid-run the
        # run stays "running" until the abandoned-run sweep fails it, as with a lost worker.
        in_process = tasks_run_in_process()
        run = start_training_run(
            **{name: form.cleaned_data[name] for name in TrainingRunForm.Meta.fields},
            trigger=TrainingTrigger.ADMIN,
            queue=not in_process,
        )
        if in_process:
            run_id = run.pk
            transaction.on_commit(lambda: start_training_thread(run_id=run_id))
        # The admin goes on to log and redirect to ``obj``; point it at the stored run.
        obj.pk = run.pk
        obj.created_at = run.created_at
        obj.status = run.status

    def response_add(self, request, obj: TrainingRun, post_url_continue=None):
        # The stock message names the run by its status when the form was saved; say instead
        # what happens to it, and open its page, where its stage is current.
        if tasks_run_in_process():
            message = (
                f"Training run {obj.pk} started in this web process (no worker is configured). "
                "Refresh this page to follow its stage; it ends promoted, kept or failed."
            )
        else:
            message = (
                f"Training run {obj.pk} is queued for a worker on the training queue. "
                "Refresh this page to follow its stage."
            )
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:emotion_trainingrun_change", args=[obj.pk]))


def training_thread_name(run_id: int) -> str:
    return f"training-run-{run_id}"


def start_training_thread(*, run_id: int) -> threading.Thread:
    """Train run ``run_id`` in a daemon thread of this process (no broker: see ``save_model``)."""

    def train() -> None:
        try:
            # Calling the task runs its body here, with the same guard (only a queued run).
            train_mood_model_run(run_id)
        except Exception as error:
            # run_training records the failures it expects; anything else would leave the run
            # "running" until the sweep, so record it here, as a worker's log would show it.
            logger.exception("training run failed in its thread", extra={"run": run_id})
            run = TrainingRun.objects.filter(pk=run_id).first()
            if run is not None and run.finished_at is None:
                mark_training_run_failed(run=run, reason=f"training stopped by an error: {error}")
        finally:
            # A thread's database connection is its own; close it so none is left open.
            connection.close()

    thread = threading.Thread(target=train, name=training_thread_name(run_id), daemon=True)
    thread.start()
    return thread


def _score(value: float | None) -> str:
    return EMPTY if value is None else f"{value:.3f}"


class AnalysisFilter(admin.SimpleListFilter):
    title = "analysis"
    parameter_name = "analysis"

    def lookups(self, request, model_admin):
        return [*AnalysisStatus.choices, ("none", "never analysed")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(analysis__isnull=True)
        if value in AnalysisStatus.values:
            return queryset.filter(analysis__status=value)
        return queryset


class EmotionFilter(admin.SimpleListFilter):
    title = "emotion"
    parameter_name = "emotion"

    def lookups(self, request, model_admin):
        labels = TrackEmotion.objects.order_by("label").values_list("label", flat=True).distinct()
        return [*((label, label) for label in labels), ("none", "not tagged")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(emotion__isnull=True)
        if value:
            return queryset.filter(emotion__label=value)
        return queryset


class CuratorLabelInline(admin.StackedInline):
    """A curator's emotion for the track, edited on the track page: it is what retraining
    learns from."""

    model = CuratorLabel
    fk_name = "track"
    extra = 1
    max_num = 1
    can_delete = True
    fields = ("label", "note")
    verbose_name = "curator label (training data)"
    verbose_name_plural = "curator label (training data)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        version = active_model_version()
        if version is not None:
            formset.form.base_fields["label"].help_text = "The active model's labels: " + ", ".join(
                f"{label} ({version.display_names.get(label, label)})" for label in version.labels
            )
        return formset


def describe_valence_arousal(*, valence: float | None, arousal: float | None, source: str) -> str:
    """A stored valence/arousal point as staff read it (tracks and listeners' moods)."""
    if valence is None or arousal is None:
        return "none: the model's emotions are not the four quadrants and it has no V/A head"
    origin = ValenceArousalSource(source).label if source else "unknown source"
    return f"valence {valence:.2f}, arousal {arousal:.2f} ({origin})"


admin.site.unregister(Track)


@admin.register(Track)
class TrackWithEmotionAdmin(TrackAdmin):
    """The track page and list with the analysis state, the emotion, and why it was tagged."""

    list_display = ("short_title", "short_artist", "analysis_state", "emotion_tag")
    list_filter = (AnalysisFilter, EmotionFilter, "created_at")
    inlines = [CuratorLabelInline]
    emotion_fields = ("analysis_state", "emotion_tag", "valence_arousal", "segments")
    readonly_fields = (*TrackAdmin.readonly_fields, *emotion_fields)

    def get_queryset(self, request):
        # The analysis comes along for its state; its feature matrix (up to megabytes a
        # track) does not: the page's chart reads it through the selector.
        return (
            super()
            .get_queryset(request)
            .select_related("analysis", "emotion")
            .defer("analysis__features")
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        track_fields = [
            name for name in fieldsets[0][1]["fields"] if name not in self.emotion_fields
        ]
        return (
            (None, {"fields": track_fields}),
            ("Emotion: what the active model hears, and where", {"fields": self.emotion_fields}),
        )

    @admin.display(description="title", ordering="title")
    def short_title(self, track: Track) -> str:
        return truncated(track.title)

    @admin.display(description="artist", ordering="artist")
    def short_artist(self, track: Track) -> str:
        return truncated(track.artist, 24)

    @admin.display(description="analysis")
    def analysis_state(self, track: Track) -> str:
        analysis = getattr(track, "analysis", None)
        if analysis is None:
            return "no audio" if not track.audio else "not analysed"
        if analysis.status == AnalysisStatus.FAILED:
            return truncated(f"failed: {analysis.failure_reason}", 24)
        if analysis.status == AnalysisStatus.DONE:
            return f"done, {analysis.n_segments} segments"
        return analysis.get_status_display()

    @admin.display(description="emotion", ordering="emotion__label")
    def emotion_tag(self, track: Track) -> str:
        emotion = getattr(track, "emotion", None)
        if emotion is None:
            return "not tagged"
        return f"{emotion.label} ({percent(emotion.confidence)})"

    @admin.display(description="valence / arousal")
    def valence_arousal(self, track: Track) -> str:
        emotion = getattr(track, "emotion", None)
        if emotion is None:
            return "not tagged"
        return describe_valence_arousal(
            valence=emotion.valence,
            arousal=emotion.arousal,
            source=emotion.valence_arousal_source,
        )

    @admin.display(description="segments")
    def segments(self, track: Track) -> SafeString:
        if track.pk is None:
            return EMPTY
        segments = track_segments(track=track)
        if segments is None:
            return chart_img(
                empty_chart("no current analysis: nothing to plot"),
                alt="segments of the track: no analysis yet",
            )
        return format_html(
            '{}<div style="max-width: 680px; margin-top: 0.5em">{}</div>',
            chart_img(segment_figure(segments), alt=f"LLDs and model evidence of {track}"),
            segment_caption(segments),
        )


def segment_figure(segments: TrackSegments):
    """The LLDs as a heat map (z-scored per column, grouped MFCC … ZCR) over the segments, and
    below, on the same time axis, the active model's per-segment evidence."""
    lld = segments.lld.astype(np.float64)
    spread = lld.std(axis=0)
    zscores = np.divide(lld - lld.mean(axis=0), spread, out=np.zeros_like(lld), where=spread > 0)
    n_segments = len(lld)
    edges = np.arange(n_segments + 1) * segments.segment_seconds
    figure = new_figure(width=CHART_WIDTH_INCHES, height=4.2)
    heat_axes, evidence_axes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1.3)}
    )
    image = heat_axes.pcolormesh(
        edges, np.arange(lld.shape[1] + 1), zscores.T, cmap="RdBu_r", vmin=-3, vmax=3
    )
    heat_axes.invert_yaxis()
    heat_axes.set_yticks([(group.start + group.stop) / 2 for _, group in LLD_GROUPS])
    heat_axes.set_yticklabels([name for name, _ in LLD_GROUPS], fontsize=8)
    for _, group in LLD_GROUPS[1:]:
        heat_axes.axhline(group.start, color="black", linewidth=0.6)
    heat_axes.set_title("50 LLDs, z-scored per column over this track", fontsize=9)
    figure.colorbar(image, ax=heat_axes, label="z-score", shrink=0.8)
    explanation = segments.explanation
    if explanation is None:
        evidence_axes.text(
            0.5, 0.5, segments.unexplained_reason, ha="center", va="center", fontsize=9
        )
        evidence_axes.set_yticks([])
    else:
        labels = segments.model_version.labels
        colour = emotion_colour(labels.index(explanation.label))
        evidence_axes.bar(
            edges[:-1],
            explanation.values,
            width=segments.segment_seconds * 0.9,
            align="edge",
            color=colour,
        )
        evidence_axes.set_ylabel(
            "attention" if explanation.kind == ATTENTION else f"P({explanation.label})",
            fontsize=8,
        )
        if explanation.kind != ATTENTION:
            evidence_axes.set_ylim(0, 1)
    evidence_axes.set_xlabel("time (s)")
    return figure


def segment_caption(segments: TrackSegments) -> str:
    if segments.explanation is None:
        return (
            f"Top: the track's LLDs per {segments.segment_seconds:g}-s segment. Bottom: no "
            f"model evidence ({segments.unexplained_reason})."
        )
    version = segments.model_version
    name = version.architecture.get("preset") or version.architecture.get("name", "")
    explanation = segments.explanation
    if explanation.kind == ATTENTION:
        evidence = (
            f"the attention of {version} ({name}) on each segment: how much each one weighs "
            f"when it tagged the track {explanation.label} (the weights sum to 1)"
        )
    else:
        evidence = (
            f"{version} ({name}) has no attention: it pools all segments evenly. The bars are "
            f"the probability of {explanation.label} when the model reads each segment alone"
        )
    return (
        f"Top: the track's LLDs per {segments.segment_seconds:g}-s segment (red above the "
        f"track's mean of that column, blue below). Bottom: {evidence}."
    )
