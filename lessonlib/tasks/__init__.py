"""Applications of the lectures' models: claim verification, recommendation, cross-modal retrieval, spec matching."""
