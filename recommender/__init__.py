"""The Django project package: settings, URLs, the Celery app, and the recommendation domain."""

from recommender.celery import app as celery_app

__all__ = ["celery_app"]
