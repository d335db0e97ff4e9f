"""Plays of tracks the catalogue lacks are kept unmatched and attached when the track arrives."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.core.management import call_command
from django.db.models import ProtectedError
from django.utils import timezone

from catalogue.services import create_track
from listening import services
from listening.matching import TrackMetadata, match_tracks
from listening.models import Play
from listening.services import PlayStatus
from tests.factories import ListenerFactory, TrackFactory
from tests.listening.conftest import described_play, record

MBID = uuid.UUID("e225fb84-dc9a-419e-adcd-9890f59ec432")


def metadata(title="Song", artist="Band", album="", mbid=None, isrc="") -> TrackMetadata:
    return TrackMetadata.clean(
        track_name=title, artist_name=artist, release_name=album, recording_mbid=mbid, isrc=isrc
    )


# --- The matching order ----------------------------------------------------------------------


@pytest.mark.django_db
def test_matching_tries_recording_id_then_isrc_then_song_key():
    by_key = TrackFactory(title="Song", artist="Band", album="Album")
    by_isrc = TrackFactory(title="Other", artist="Else", album="", isrc="USRC17607839")
    by_mbid = TrackFactory(title="Third", artist="One", album="", musicbrainz_recording_id=MBID)

    assert match_tracks(
        [
            metadata("Song", "Band", "Album", mbid=MBID, isrc="USRC17607839"),
            metadata("Song", "Band", "Album", mbid=uuid.uuid4(), isrc="us-rc1-76-07839"),
            metadata("Song (Remastered 2011)", "BAND", "Album"),
            metadata("Song", "Band", "Another album"),
        ]
    ) == [by_mbid.id, by_isrc.id, by_key.id, None]


@pytest.mark.django_db
def test_without_an_album_title_and_artist_match_only_when_unambiguous():
    unique = TrackFactory(title="Lonely", artist="Solo", album="Only Album")
    TrackFactory(title="Twice", artist="Duo", album="Studio")
    TrackFactory(title="Twice", artist="Duo", album="Live at Home")
    exact = TrackFactory(title="Exact", artist="Trio", album="")
    TrackFactory(title="Exact", artist="Trio", album="Some Album")

    assert match_tracks(
        [metadata("lonely", "SOLO"), metadata("Twice", "Duo"), metadata("Exact", "Trio")]
    ) == [unique.id, None, exact.id]


@pytest.mark.django_db
def test_re_releases_of_one_song_resolve_to_the_oldest_track():
    first = TrackFactory(title="Song", artist="Band", album="Album")
    TrackFactory(title="Song (Remastered 2011)", artist="Band", album="Album (Deluxe Edition)")
    assert match_tracks([metadata("Song", "Band"), metadata("Song", "Band", "Album")]) == [
        first.id,
        first.id,
    ]


@pytest.mark.django_db
def test_names_that_normalise_to_nothing_never_match():
    TrackFactory(title="???", artist="!!!", album="")
    assert match_tracks([metadata("???", "!!!")]) == [None]


# --- Storing unmatched plays -----------------------------------------------------------------


def test_a_play_of_an_unknown_track_is_kept_unmatched_with_its_metadata(listener):
    [outcome] = record(
        listener,
        described_play(title="New Song", artist="New Band", album="Debut", isrc="GBAYE0601498"),
    )
    assert outcome.status is PlayStatus.ACCEPTED and outcome.matched is False
    play = Play.objects.get(pk=outcome.play_id)
    assert play.track is None and not play.is_matched
    assert (play.track_name, play.artist_name, play.release_name, play.isrc) == (
        "New Song",
        "New Band",
        "Debut",
        "GBAYE0601498",
    )
    assert (play.title, play.artist, play.album) == ("New Song", "New Band", "Debut")


def test_a_described_play_of_a_known_track_is_matched_at_once(listener):
    track = TrackFactory(title="Known", artist="Band", album="Album")
    [outcome] = record(listener, described_play(title="Known", artist="Band", album="Album"))
    assert outcome.matched is True
    assert Play.objects.get(pk=outcome.play_id).track == track


def test_unmatched_plays_are_deduplicated_by_listener_time_and_normalised_metadata(listener):
    played_at = timezone.now() - dt.timedelta(hours=2)
    first = record(listener, described_play(played_at=played_at, title="Song", artist="Band"))
    again = record(
        listener,
        described_play(played_at=played_at, title="Song (Remastered 2011)", artist="band"),
        described_play(1, played_at=played_at, title="Song", artist="Band"),
        described_play(2, played_at=played_at, title="A different song", artist="Band"),
    )
    assert [o.status for o in again] == [
        PlayStatus.DUPLICATE,
        PlayStatus.DUPLICATE,
        PlayStatus.ACCEPTED,
    ]
    assert again[0].play_id == again[1].play_id == first[0].play_id
    assert Play.objects.filter(listener=listener).count() == 2

    other = ListenerFactory()
    [theirs] = record(other, described_play(played_at=played_at, title="Song", artist="Band"))
    assert theirs.status is PlayStatus.ACCEPTED


def test_a_play_repeated_within_one_batch_counts_once(listener):
    played_at = timezone.now() - dt.timedelta(hours=2)
    outcomes = record(
        listener,
        described_play(0, played_at=played_at),
        described_play(1, played_at=played_at),
    )
    assert [o.status for o in outcomes] == [PlayStatus.ACCEPTED, PlayStatus.DUPLICATE]
    assert outcomes[0].play_id == outcomes[1].play_id is not None


def test_a_resubmitted_play_is_a_duplicate_after_it_was_matched(listener):
    played_at = timezone.now() - dt.timedelta(hours=2)
    [first] = record(listener, described_play(played_at=played_at, title="Later", artist="Band"))
    create_track(title="Later", artist="Band", album="Album")
    [again] = record(listener, described_play(played_at=played_at, title="Later", artist="Band"))
    assert again.status is PlayStatus.DUPLICATE and again.play_id == first.play_id


# --- Matching later, when the catalogue gains the track ---------------------------------------


@pytest.mark.parametrize(
    ("submitted", "created"),
    [
        (
            {"title": "Titel", "artist": "Künstler", "mbid": MBID},
            {"title": "Title", "artist": "Artist", "musicbrainz_recording_id": MBID},
        ),
        (
            {"title": "Titel", "artist": "Künstler", "isrc": "USRC17607839"},
            {"title": "Title", "artist": "Artist", "isrc": "USRC17607839"},
        ),
        (
            {"title": "Song (Remastered 2011)", "artist": "The Band", "album": "Album"},
            {"title": "Song", "artist": "the band", "album": "Album (Deluxe Edition)"},
        ),
        (
            {"title": "Song", "artist": "The Band"},
            {"title": "Song", "artist": "The Band", "album": "Album"},
        ),
    ],
    ids=["recording-id", "isrc", "song-key", "title-and-artist"],
)
def test_an_unmatched_play_is_attached_when_its_track_is_created(listener, submitted, created):
    [outcome] = record(listener, described_play(**submitted))
    assert outcome.matched is False

    track = create_track(**created)

    play = Play.objects.get(pk=outcome.play_id)
    assert play.track == track
    assert play.track_name == submitted["title"]  # what was submitted is kept


def test_a_new_track_does_not_take_plays_that_match_something_else_better(listener):
    [outcome] = record(listener, described_play(title="Song", artist="Band", album="Live"))
    create_track(title="Song", artist="Band", album="Studio")
    assert Play.objects.get(pk=outcome.play_id).track is None


def test_a_new_track_leaves_album_less_plays_alone_when_it_makes_them_ambiguous(listener):
    [outcome] = record(listener, described_play(title="Song", artist="Band"))
    TrackFactory(title="Song", artist="Band", album="Studio")  # added without the service
    create_track(title="Song", artist="Band", album="Live")
    assert Play.objects.get(pk=outcome.play_id).track is None


def test_an_attached_play_that_repeats_a_stored_play_is_removed(listener):
    played_at = timezone.now() - dt.timedelta(hours=3)
    # The same listen, sent once with the album and once without.
    [with_album] = record(
        listener, described_play(played_at=played_at, title="Song", artist="Band", album="LP")
    )
    [without] = record(listener, described_play(played_at=played_at, title="Song", artist="Band"))
    assert with_album.play_id != without.play_id

    track = create_track(title="Song", artist="Band", album="LP")

    assert list(Play.objects.filter(listener=listener).values_list("track_id", flat=True)) == [
        track.id
    ]


def test_a_track_with_many_waiting_plays_attaches_the_rest_in_a_task(
    listener, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "INLINE_ATTACH_LIMIT", 2)
    record(listener, *[described_play(i, title="Popular", artist="Band") for i in range(5)])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        track = create_track(title="Popular", artist="Band", album="Hits")
    assert Play.objects.filter(track=track).count() == 2
    assert len(callbacks) == 1

    callbacks[0]()
    assert Play.objects.filter(track=track).count() == 5
    assert not Play.objects.filter(track__isnull=True).exists()


def test_match_unmatched_plays_command_attaches_plays_of_tracks_added_behind_its_back(listener):
    record(
        listener,
        described_play(0, title="Admin Song", artist="Band"),
        described_play(1, title="Admin Song", artist="Band", album="Album"),
        described_play(2, title="Still Missing", artist="Band"),
    )
    track = TrackFactory(title="Admin Song", artist="Band", album="Album")  # no signal

    out = io.StringIO()
    call_command("match_unmatched_plays", "--batch-size", "2", stdout=out, stderr=io.StringIO())

    assert Play.objects.filter(track=track).count() == 2
    assert Play.objects.filter(track__isnull=True).count() == 1
    assert "3 unmatched plays examined: 2 matched" in out.getvalue()
    assert "1 still unmatched" in out.getvalue()


def test_a_track_with_plays_cannot_be_deleted(listener):
    track = create_track(title="Kept", artist="Band")
    record(listener, described_play(title="Kept", artist="Band"))
    with pytest.raises(ProtectedError):
        track.delete()
