"""Bad collections and run files: a one-line error naming the file (and line), or the right result."""

from __future__ import annotations

import pytest

from lessonlib.data import load_dataset, read_run, write_run

DOCS = b'{"_id": "d1", "title": "", "text": "a b"}\n{"_id": "d2", "title": "", "text": "c d"}\n'
QUERIES = b'{"_id": "q1", "text": "a"}\n'
QRELS = b"query-id\tcorpus-id\tscore\nq1\td1\t1\n"


def _beir(folder, corpus=DOCS, queries=QUERIES, qrels=QRELS):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_bytes(corpus)
    (folder / "queries.jsonl").write_bytes(queries)
    (folder / "qrels" / "test.tsv").write_bytes(qrels)
    return str(folder)


@pytest.mark.parametrize("what, kwargs, message", [
    ("non-UTF-8 text", dict(corpus=b'{"_id": "d1", "title": "", "text": "caf\xe9"}\n'), "not UTF-8"),
    ("an empty corpus", dict(corpus=b""), "no documents"),
    ("empty queries", dict(queries=b""), "no queries"),
    ("duplicate ids", dict(corpus=b'{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n'), "duplicate document id"),
    ("a broken JSON line", dict(corpus=b'{"_id": "d1", "text": "a"\n'), "corpus.jsonl:1: malformed JSON"),
    ("a line without an id", dict(corpus=b'{"text": "a"}\n'), 'no "_id"'),
])
def test_bad_collections_are_one_line_errors(tmp_path, what, kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        load_dataset(_beir(tmp_path / "c", **kwargs))
    assert "\n" not in str(err.value), what


def test_odd_but_valid_collections_load(tmp_path):
    ds = load_dataset(_beir(tmp_path / "bom", corpus=b"\xef\xbb\xbf" + DOCS))  # a UTF-8 byte-order mark
    assert set(ds.corpus) == {"d1", "d2"}
    ds = load_dataset(_beir(tmp_path / "noqrels", queries=QUERIES + b'{"_id": "q2", "text": "b"}\n'))
    assert set(ds.queries) == {"q1"}, "a query without judgments is not a test query of the split"
    with pytest.warns(UserWarning, match="dropped 1 judgments"):
        ds = load_dataset(_beir(tmp_path / "missing", qrels=QRELS + b"q1\tzz\t1\n"))
    assert ds.qrels == {"q1": {"d1": 1}}


@pytest.mark.parametrize("text, message", [("q1 Q0 d1 1 nan t\n", "NaN"), ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", "twice"),
                                           ("q1 Q0 d1 one 0.5 t\n", "r.trec:1"), ("q1 Q0 d1 1\n", "r.trec:1")])
def test_bad_run_files_are_one_line_errors_with_the_line(tmp_path, text, message):
    (tmp_path / "r.trec").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_run(tmp_path / "r.trec")


def test_infinite_scores_round_trip(tmp_path):
    run = {"q1": {"a": float("inf"), "b": 1.0, "c": float("-inf")}}
    assert read_run(write_run(run, tmp_path / "r.trec")) == run
