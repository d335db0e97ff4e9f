from django.urls import path

from emotion.apis import TrackAnalysisApi

urlpatterns = [
    path("tracks/<id:track_id>/analysis/", TrackAnalysisApi.as_view(), name="track-analysis"),
]
