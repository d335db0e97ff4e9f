"""Extension points of listening history for the apps above it.

Listening cannot call the recommender (it sits below it); the recommender subscribes here.
"""

from django.dispatch import Signal

# Sent after the commit of every ingestion (a REST batch, a ListenBrainz submission, a file
# import) that stored at least one new play, matched or not; kwargs: listener_id, count.
plays_recorded = Signal()
