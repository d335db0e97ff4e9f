from django.urls import path

from catalogue.apis import TrackAudioApi, TrackDetailApi, TrackListCreateApi

urlpatterns = [
    path("tracks/", TrackListCreateApi.as_view(), name="track-list"),
    path("tracks/<id:track_id>/", TrackDetailApi.as_view(), name="track-detail"),
    path("tracks/<id:track_id>/audio/", TrackAudioApi.as_view(), name="track-audio"),
]
