import pytest

from catalogue.dedup import song_key
from tests.factories import TrackFactory


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Song (Remastered)", "The Band", "Album"), ("song", "the band", "album")),
        (("Song - Remastered 2011", "The Band", "Album"), ("Song", "The Band", "Album")),
        (("Song", "The Band", "Album (Deluxe Edition)"), ("Song", "The Band", "Album")),
        (("Song [2009 Remaster]", "The Band", ""), ("SONG", "THE BAND", "")),
        (("Song (feat. Guest)", "Band", "X"), ("Song", "Band", "X")),
        (("Déjà Vu", "Beyoncé", "B'Day"), ("Deja vu", "beyonce", "B Day")),
        (("Rock & Roll", "Band", ""), ("Rock and Roll", "Band", "")),
        (("  Song  ", "Band", ""), ("Song", "Band", "")),
    ],
)
def test_re_releases_share_a_key(a, b):
    title_a, artist_a, album_a = a
    title_b, artist_b, album_b = b
    assert song_key(title=title_a, artist=artist_a, album=album_a) == song_key(
        title=title_b, artist=artist_b, album=album_b
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Song (Live)", "Band", "Album"), ("Song", "Band", "Album")),
        (("Song (Acoustic)", "Band", "Album"), ("Song", "Band", "Album")),
        (("Song", "Band", "Album"), ("Song", "Other Band", "Album")),
        (("Song", "Band", "Album"), ("Song", "Band", "Another Album")),
    ],
)
def test_different_songs_keep_different_keys(a, b):
    assert song_key(title=a[0], artist=a[1], album=a[2]) != song_key(
        title=b[0], artist=b[1], album=b[2]
    )


def test_the_key_follows_the_track_fields_on_save(db):
    track = TrackFactory(title="Song (Remastered)", artist="The Band", album="Album")
    assert track.song_key == "song | the band | album"
    track.title = "Other"
    track.save(update_fields=["title"])
    track.refresh_from_db()
    assert track.song_key == "other | the band | album"
