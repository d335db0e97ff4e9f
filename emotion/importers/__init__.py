"""Importers of external labelled data sets into this project's data-set folder format."""
