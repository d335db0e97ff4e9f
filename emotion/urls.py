from django.urls import path

from emotion.apis import TrackAnalysisApi

urlpatterns = [
    path("tracks/<int:track_id>/analysis/", TrackAnalysisApi.as_view(), name="track-analysis"),
]
