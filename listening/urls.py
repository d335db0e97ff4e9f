from django.urls import path

from listening.apis import PlayListSubmitApi

urlpatterns = [
    path("plays/", PlayListSubmitApi.as_view(), name="plays"),
]
