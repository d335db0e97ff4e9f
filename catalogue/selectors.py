from __future__ import annotations

from django.db.models import Q, QuerySet

from catalogue.models import Track


def search_tracks(*, query: str = "") -> QuerySet[Track]:
    tracks = Track.objects.all()
    for word in query.split():
        tracks = tracks.filter(
            Q(title__icontains=word) | Q(artist__icontains=word) | Q(album__icontains=word)
        )
    return tracks
