from django.urls import path

from emotion.apis import TrackAnalysisApi, TrackEmotionApi

urlpatterns = [
    path("tracks/<id:track_id>/analysis/", TrackAnalysisApi.as_view(), name="track-analysis"),
    path("tracks/<id:track_id>/emotion/", TrackEmotionApi.as_view(), name="track-emotion"),
]
