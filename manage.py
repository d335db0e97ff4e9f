#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    # One numeric thread per process unless configured (recommender/process_threads.py says
    # why); before Django loads, because torch and BLAS read it once, when imported.
    from recommender.process_threads import configure_process_threads

    configure_process_threads()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
