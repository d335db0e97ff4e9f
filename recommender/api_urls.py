from django.urls import path

from recommender.apis import MyMoodApi, RecommendationFeedbackApi, RecommendationListApi
from recommender.journey_apis import (
    JourneyCreateApi,
    JourneyDetailApi,
    JourneyItemFeedbackApi,
)

# The paths have no trailing slash while the rest of the API has one: both spellings
# are served, so neither kind of client meets a redirect that drops its POST body.
urlpatterns = [
    path("recommendations/", RecommendationListApi.as_view(), name="recommendations"),
    path(
        "recommendations/<id:recommendation_id>/feedback",
        RecommendationFeedbackApi.as_view(),
        name="recommendation-feedback",
    ),
    path("recommendations/<id:recommendation_id>/feedback/", RecommendationFeedbackApi.as_view()),
    path("me/mood", MyMoodApi.as_view(), name="my-mood"),
    path("me/mood/", MyMoodApi.as_view()),
    path("journeys/", JourneyCreateApi.as_view(), name="journeys"),
    path("journeys/<id:journey_id>/", JourneyDetailApi.as_view(), name="journey"),
    path(
        "journeys/<id:journey_id>/items/<id:item_id>/feedback",
        JourneyItemFeedbackApi.as_view(),
        name="journey-item-feedback",
    ),
    path("journeys/<id:journey_id>/items/<id:item_id>/feedback/", JourneyItemFeedbackApi.as_view()),
]
