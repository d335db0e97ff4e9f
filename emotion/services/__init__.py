"""Writes of the emotion app, one module per concern.

- ``analysis``    extracting and storing each track's LLD sequence
- ``registry``    mood-model versions: registering, activating, rolling back
- ``tagging``     tagging tracks with the active model
- ``retraining``  training runs that promote a new model only when it beats the active one
"""
