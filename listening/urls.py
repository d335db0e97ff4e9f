from django.urls import path

from listening.apis import ImportJobDetailApi, ImportJobListCreateApi, PlayListSubmitApi

urlpatterns = [
    path("plays/", PlayListSubmitApi.as_view(), name="plays"),
    path("imports/", ImportJobListCreateApi.as_view(), name="import-list"),
    path("imports/<id:job_id>/", ImportJobDetailApi.as_view(), name="import-detail"),
]
