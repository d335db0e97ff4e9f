"""The journey's admin page: the path over the catalogue scatter, answers marked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from recommender.journeys import PointSpec, answer_journey_item, plan_journey
from recommender.models import JourneyItem
from tests.recommender.test_journeys import plane_catalogue  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_the_journey_page_draws_the_path_with_the_answers(admin_client, listener, plane_catalogue):  # noqa: F811
    journey = plan_journey(
        listener=listener, target=PointSpec(label="Q1"), start=PointSpec(label="Q3"), length=5
    )
    first = JourneyItem.objects.get(journey=journey, position=1)
    answer_journey_item(item=first, action="accept")  # re-plans positions 2–5
    second = JourneyItem.objects.get(journey=journey, position=2, replaced=False)
    answer_journey_item(item=second, action="reject")  # re-plans positions 3–5

    page = admin_client.get(reverse("admin:recommender_journey_change", args=[journey.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    alt = re.search(
        r'<img class="chart" alt="(Journey [^"]+)" src="data:image/png;base64,', content
    )
    assert alt is not None
    assert "5 tracks (1 accepted, 1 rejected, 3 not answered yet), 7 replaced" in alt.group(1)
    assert "over the catalogue (Q1 happy: 10 around" in alt.group(1)
    assert "step 1 of 5: matching how you feel now (sad)" in content
    assert content.count(">replaced<") == 7

    listing = admin_client.get(reverse("admin:recommender_journey_changelist"))
    assert listing.status_code == 200
    assert "Q3 → Q1" in listing.content.decode()
    assert "1 ✓ 1 ✗ of 5" in listing.content.decode()
