"""Scoring: text normalisation, the models, and cue-phrase evidence."""
