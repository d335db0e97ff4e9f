from django.urls import path

from users.apis import ListenerCreateApi, MeApi, TokenRotateApi

urlpatterns = [
    path("listeners/", ListenerCreateApi.as_view(), name="listener-create"),
    path("me/", MeApi.as_view(), name="me"),
    path("me/token/", TokenRotateApi.as_view(), name="me-token-rotate"),
]
