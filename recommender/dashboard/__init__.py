"""The admin dashboard: the whole system at a glance, for staff.

``selectors`` reads one panel each (aggregated in the database, over bounded windows),
``charts`` draws them server-side, ``views`` puts them on one admin page; ``services`` records
the runs of beat's tasks, which the queue-health panel lists.
"""
