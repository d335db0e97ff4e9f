from __future__ import annotations

from listening.models import ImportJob
from tests.factories import PlayFactory
from tests.listening.conftest import described_play, record


def test_the_play_admin_shows_and_filters_unmatched_plays(admin_client, listener):
    matched = PlayFactory(listener=listener)
    [unmatched] = record(listener, described_play(title="Lost Song", artist="Lost Band"))

    only_unmatched = admin_client.get("/admin/listening/play/", {"matched": "no"})
    assert only_unmatched.status_code == 200
    assert b"Lost Band \xe2\x80\x93 Lost Song" in only_unmatched.content
    assert matched.track.title.encode() not in only_unmatched.content

    only_matched = admin_client.get("/admin/listening/play/", {"matched": "yes"})
    assert b"Lost Song" not in only_matched.content

    change = admin_client.get(f"/admin/listening/play/{unmatched.play_id}/change/")
    assert change.status_code == 200 and b"Lost Song" in change.content


def test_the_import_job_admin_lists_jobs(admin_client, listener):
    ImportJob.objects.create(listener=listener, format="spotify", file="imports/x.json")
    response = admin_client.get("/admin/listening/importjob/")
    assert response.status_code == 200 and b"spotify" in response.content.lower()


def test_a_track_added_in_the_admin_takes_its_waiting_plays(admin_client, listener):
    [waiting] = record(listener, described_play(title="Late Arrival", artist="Slow Band"))

    response = admin_client.post(
        "/admin/catalogue/track/add/",
        {
            "title": "Late Arrival",
            "artist": "Slow Band",
            "album": "",
            "isrc": "",
            # The track page carries the curator-label inline (left empty here).
            "curator_label-TOTAL_FORMS": "1",
            "curator_label-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:1000]
    from listening.models import Play

    play = Play.objects.get(pk=waiting.play_id)
    assert play.track is not None and play.track.title == "Late Arrival"


def test_the_play_list_filters_by_listener_and_names_them(admin_client, listener, other_listener):
    mine = PlayFactory(listener=listener)
    PlayFactory(listener=other_listener)

    theirs = admin_client.get("/admin/listening/play/", {"listener": listener.pk})

    assert theirs.status_code == 200
    assert [play.pk for play in theirs.context["cl"].result_list] == [mine.pk]
    assert str(mine).startswith(f"{listener.username} played {mine.track} at ")
    unknown = admin_client.get("/admin/listening/play/", {"listener": "nobody"})
    assert unknown.status_code == 200 and unknown.context["cl"].result_count == 0
