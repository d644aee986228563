"""Foundations every part of the course shares: settings, atomic files, downloads, models by name,
runs in trec_eval's order, the training loop and the embedding cache."""
