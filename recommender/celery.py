"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from recommender.process_threads import configure_process_threads

# One numeric thread per process unless configured (process_threads.py says why): set in the
# worker's and beat's main process before anything imports torch, so every pool process forked
# from it inherits the setting, and checked again in each pool process below.
configure_process_threads()

from celery import Celery  # noqa: E402
from celery.signals import worker_process_init  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")

app = Celery("recommender")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def limit_pool_process_threads(**kwargs) -> None:
    # A pool process started any other way than by fork (or after torch changed its pool in the
    # parent) still gets the configured number of threads.
    configure_process_threads()
