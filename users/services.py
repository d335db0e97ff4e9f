from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from users.models import User


class ListenerAlreadyExists(Exception):
    pass


@transaction.atomic
def create_listener(*, username: str, email: str = "") -> tuple[User, Token]:
    """Create a listener account with an API token. Listeners have no password: they use the
    token, so an unusable password keeps the admin login closed to them."""
    if User.objects.filter(username__iexact=username).exists():
        raise ListenerAlreadyExists(f"a listener named {username!r} already exists")
    user = User(username=username, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    token = Token.objects.create(user=user)
    return user, token


@transaction.atomic
def rotate_token(*, user: User) -> Token:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)
