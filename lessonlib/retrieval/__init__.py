"""First-stage retrieval and what is built on it: BM25, fusion, candidates, re-ranking, cascades and routing."""
