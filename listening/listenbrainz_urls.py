"""ListenBrainz-compatible API, mounted at /1/ so clients find it where ListenBrainz has it."""

from django.urls import path

from listening.listenbrainz import SubmitListensApi, ValidateTokenApi

urlpatterns = [
    path("submit-listens", SubmitListensApi.as_view(), name="listenbrainz-submit-listens"),
    path("validate-token", ValidateTokenApi.as_view(), name="listenbrainz-validate-token"),
]
