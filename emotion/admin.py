from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from emotion.ml import ArtifactError
from emotion.ml.presets import DEFAULT_PRESET, PRESET_CHOICES
from emotion.models import (
    CuratorLabel,
    MoodModelVersion,
    TrackAnalysis,
    TrackEmotion,
    TrainingRun,
    TrainingSource,
    TrainingTrigger,
)
from emotion.services.analysis import request_track_analysis
from emotion.services.registry import activate_model_version, roll_back_model_version
from emotion.services.retraining import start_training_run


@admin.register(TrackAnalysis)
class TrackAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "track",
        "status",
        "feature_set_version",
        "n_segments",
        "audio_seconds",
        "extraction_cpu_seconds",
        "attempts",
        "finished_at",
    )
    list_filter = ("status", "feature_set_version", "segment_seconds")
    search_fields = ("track__title", "track__artist", "failure_reason")
    list_select_related = ("track",)
    raw_id_fields = ("track",)
    readonly_fields = [field.name for field in TrackAnalysis._meta.fields if field.name != "track"]
    actions = ["reanalyse"]

    def has_add_permission(self, request) -> bool:
        return False

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
        "is_active",
        "held_out_macro_f1",
        "held_out_accuracy",
        "label_list",
        "feature_set_version",
        "created_at",
        "activated_at",
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
        "architecture",
        "trained_on",
        "evaluated_on",
        "artifact",
    )
    fields = readonly_fields
    actions = ["activate", "roll_back"]

    def has_add_permission(self, request) -> bool:
        # Versions come from training runs (or train_mood_model); none is typed in by hand.
        return False

    @admin.display(description="labels")
    def label_list(self, version: MoodModelVersion) -> str:
        return ", ".join(
            f"{label} ({version.display_names.get(label, label)})" for label in version.labels
        )

    @admin.display(description="held-out macro-F1")
    def held_out_macro_f1(self, version: MoodModelVersion) -> str:
        return _score(version.metrics.get("macro_f1"))

    @admin.display(description="held-out accuracy")
    def held_out_accuracy(self, version: MoodModelVersion) -> str:
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
    list_display = ("track", "label", "confidence", "model_version", "tagged_at")
    list_filter = ("label", "model_version")
    search_fields = ("track__title", "track__artist")
    list_select_related = ("track", "model_version")
    readonly_fields = (
        "track",
        "label",
        "confidence",
        "probabilities",
        "model_version",
        "tagged_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CuratorLabel)
class CuratorLabelAdmin(admin.ModelAdmin):
    list_display = ("track", "label", "note", "updated_at")
    list_filter = ("label",)
    search_fields = ("track__title", "track__artist", "label")
    raw_id_fields = ("track",)
    list_select_related = ("track",)


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
    """Adding a run starts it: the form records the run and queues it on the training queue."""

    form = TrainingRunForm
    list_display = (
        "__str__",
        "status",
        "progress",
        "trigger",
        "source",
        "candidate_macro_f1",
        "baseline_macro_f1",
        "candidate_version",
        "created_at",
        "finished_at",
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
        return run.stage or "—"

    def save_model(self, request, obj: TrainingRun, form, change: bool) -> None:
        if change:
            return
        run = start_training_run(
            **{name: form.cleaned_data[name] for name in TrainingRunForm.Meta.fields},
            trigger=TrainingTrigger.ADMIN,
        )
        # The admin goes on to log and redirect to ``obj``; point it at the stored run.
        obj.pk = run.pk
        obj.created_at = run.created_at


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
