import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from users.models import User


@pytest.mark.django_db
def test_create_listener_command_prints_a_working_token(api_client):
    out = io.StringIO()
    call_command("create_listener", "alice", stdout=out)
    token = out.getvalue().strip()
    assert Token.objects.get(key=token).user.username == "alice"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").json()["username"] == "alice"


@pytest.mark.django_db
def test_create_listener_refuses_a_taken_name():
    call_command("create_listener", "bob", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_listener", "BOB", stdout=io.StringIO())


def test_staff_create_listeners_and_listeners_cannot(staff_client, listener_client):
    assert listener_client.post("/api/v1/listeners/", {"username": "x"}).status_code == 403
    response = staff_client.post("/api/v1/listeners/", {"username": "carol"}, format="json")
    assert response.status_code == 201
    assert Token.objects.get(key=response.json()["token"]).user.username == "carol"
    assert not User.objects.get(username="carol").has_usable_password()


def test_rotating_a_token_revokes_the_old_one(listener_client, listener):
    old = listener.auth_token.key
    new = listener_client.post("/api/v1/me/token/").json()["token"]
    assert new != old
    listener_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert listener_client.get("/api/v1/me/").status_code == 401
    listener_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert listener_client.get("/api/v1/me/").status_code == 200
