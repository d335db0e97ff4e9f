from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A listener (or a staff member) of the service.

    A project-owned user model from day one, so fields can be added later without the
    painful swap away from ``auth.User``. Listeners authenticate to the API with a DRF token.
    """

    class Meta:
        db_table = "users_user"
