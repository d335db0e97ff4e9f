"""Fill an empty installation with something a person can try at once.

A demo catalogue rendered by the synthetic generator (never real recordings), its audio
analysed through the normal pipeline, curator labels from the generator's moods and a small
demo mood model trained on them (so recommendations work at once), with held-out metrics
from artists it never saw (every emotion among them; synthetic music, so the figures show the
pipeline works, not how well real music is tagged), a demo listener with a week of plays
and a token, a staff account for the admin, and example requests. Safe to run again:
existing demo data is kept and the same token is printed.

The demo model follows the analyses: its training task waits for them (on a worker when a
broker is configured, so this command does not; in-process they are done before it starts).
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from tqdm import tqdm

from catalogue.models import Track
from catalogue.services import create_track
from common.tasks import tasks_run_in_process
from emotion.models import CuratorLabel
from emotion.selectors import active_model_version
from emotion.services.demo_model import labelled_analyses_to_wait_for, request_demo_mood_model
from emotion.synth import SAMPLE_RATE, render_catalogue, wav_bytes
from listening.services import PlayCandidate, record_plays
from users.models import User
from users.services import create_listener

DEMO_LISTENER = "demo"
DEMO_STAFF = "admin"


class Command(BaseCommand):
    help = "Create a demo catalogue, a demo listener with plays, and print a token."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--tracks-per-quadrant",
            type=int,
            default=8,
            help="tracks per emotion, spread over its four artists (at least 2, so every "
            "emotion has an artist on each side of the demo model's held-out split)",
        )
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--reset-admin-password",
            action="store_true",
            help="give the demo staff account a new password and print it (it is printed only "
            "when the account is created otherwise)",
        )

    def handle(
        self,
        *args,
        tracks_per_quadrant: int,
        base_url: str,
        reset_admin_password: bool,
        **options,
    ) -> None:
        if not Track.objects.exists():
            if tracks_per_quadrant < 2:
                raise CommandError(
                    "--tracks-per-quadrant must be at least 2: the demo model holds out whole "
                    "artists, and every emotion needs one on each side"
                )
            self._create_catalogue(tracks_per_quadrant)
        if active_model_version() is None:
            self.stdout.write(
                "Queueing the demo mood model; it is trained once the analyses are done..."
            )
            with transaction.atomic():
                request_demo_mood_model()
        listener = User.objects.filter(username=DEMO_LISTENER).first()
        if listener is None:
            listener, _ = create_listener(username=DEMO_LISTENER)
            self._play_a_week(listener)
        token, _ = Token.objects.get_or_create(user=listener)
        staff, staff_password = self._ensure_staff(reset_password=reset_admin_password)
        staff_token, _ = Token.objects.get_or_create(user=staff)
        self._print_guide(
            base_url=base_url,
            token=token.key,
            staff_token=staff_token.key,
            staff_password=staff_password,
        )

    def _create_catalogue(self, per_quadrant: int) -> None:
        self.stdout.write("Rendering the demo catalogue (synthetic music, one per mood)...")
        rendered = render_catalogue(per_quadrant, seed=7)
        for synthetic in tqdm(rendered, desc="tracks", unit="track"):
            # Each track commits on its own, so its analysis runs (in-process, or on a worker
            # when a broker is configured) as soon as it is stored.
            with transaction.atomic():
                track = create_track(
                    title=synthetic.title,
                    artist=synthetic.artist,
                    album=synthetic.album,
                    duration_ms=round(1000 * len(synthetic.samples) / SAMPLE_RATE),
                    audio=ContentFile(
                        wav_bytes(synthetic.samples), name=f"demo-{synthetic.seed}.wav"
                    ),
                )
                CuratorLabel.objects.create(
                    track=track, label=synthetic.quadrant, note="synthetic demo mood"
                )

    def _mood_model_state(self) -> str:
        version = active_model_version()
        if version is not None:
            return f"mood model v{version.pk} is active."
        waiting = labelled_analyses_to_wait_for()
        if waiting:
            return (
                f"the demo mood model is trained on a worker as soon as the {waiting} queued "
                "audio analyses are done (seconds to a minute with a worker running). Until "
                "then recommendations answer 503 and say how many analyses are left."
            )
        if not tasks_run_in_process():
            return (
                "the analyses are done and the demo mood model is being trained on a worker; "
                "it is active in a few seconds (if not, the worker's log says why)."
            )
        return (
            "no mood model: the demo one needs analysed tracks of at least two emotions, each "
            "by at least two artists (its held-out split holds out whole artists). See the "
            "analyses' failure reasons (admin, Track analyses) and the log, then run seed_demo "
            "again."
        )

    def _play_a_week(self, listener: User) -> None:
        """A week of mostly sad listening (half the sad tracks, over and over, and one relaxed
        track), so the demo mood is clear and the other sad tracks are left to recommend."""
        sad = list(Track.objects.filter(curator_label__label="Q3").order_by("id"))
        relaxed = list(Track.objects.filter(curator_label__label="Q4").order_by("id"))
        favourites = sad[: max(1, len(sad) // 2)] + relaxed[:1]
        if not favourites:
            return
        now = timezone.now().replace(microsecond=0)
        candidates = [
            PlayCandidate(
                index=i,
                track_id=favourites[i % len(favourites)].id,
                played_at=now - dt.timedelta(hours=3 * i + 1),
                ms_played=8000,
                client="seed_demo",
            )
            for i in range(40)
        ]
        record_plays(listener=listener, candidates=candidates)

    def _ensure_staff(self, *, reset_password: bool) -> tuple[User, str | None]:
        """The demo staff account, and its password if it was just set (else None)."""
        staff = User.objects.filter(username=DEMO_STAFF).first()
        if staff is not None and not reset_password:
            return staff, None
        password = secrets.token_urlsafe(12)
        if staff is None:
            staff = User.objects.create_superuser(DEMO_STAFF, "admin@example.org", password)
        else:
            staff.set_password(password)
            staff.save(update_fields=["password"])
        return staff, password

    def _print_guide(
        self, *, base_url: str, token: str, staff_token: str, staff_password: str | None
    ) -> None:
        auth = f'-H "Authorization: Token {token}"'
        admin_login = (
            f"{DEMO_STAFF} / {staff_password}"
            if staff_password
            else f"{DEMO_STAFF} (password printed on the first run; --reset-admin-password sets a "
            "new one)"
        )
        mode = "in-process" if not settings.CELERY_BROKER_URL else settings.CELERY_BROKER_URL
        played_at = timezone.now().replace(microsecond=0).isoformat()
        self.stdout.write(
            f"""
Demo ready: {Track.objects.count()} tracks, listener "{DEMO_LISTENER}", tasks {mode};
{self._mood_model_state()}

  API token ({DEMO_LISTENER}):  {token}
  API token ({DEMO_STAFF}, staff): {staff_token}   (uploads audio, creates tracks)
  Admin:                  {base_url}/admin/   login {admin_login}
  API docs:               {base_url}/api/docs/

Try:
  curl {auth} {base_url}/api/v1/tracks/?q=sun
  curl {auth} {base_url}/api/v1/tracks/1/analysis/
  curl {auth} -H "Content-Type: application/json" \\
       -d '{{"plays": [{{"track": 1, "played_at": "{played_at}"}}]}}' {base_url}/api/v1/plays/
  curl {auth} "{base_url}/api/v1/plays/?since=2020-01-01T00:00:00Z"
  curl {auth} "{base_url}/api/v1/recommendations/?limit=5"
  curl {auth} -H "Content-Type: application/json" -d '{{"action": "accept"}}' \\
       {base_url}/api/v1/recommendations/RECOMMENDATION_ID/feedback
  curl {auth} {base_url}/api/v1/me/mood
  curl {auth} {base_url}/1/validate-token
  curl {base_url}/healthz
"""
        )
