import os

from recommender.process_threads import configure_process_threads

# One numeric thread per server worker process unless configured (process_threads.py says why);
# before Django loads the apps, which import torch.
configure_process_threads()

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")

application = get_wsgi_application()
