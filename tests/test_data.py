"""lessonlib.data and lessonlib.core.download: BEIR/TREC I/O, bad input, subsets, safe downloads."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

import pytest

from lessonlib import data
from lessonlib.core import download
from lessonlib.data import Dataset, load_dataset, read_qrels, read_run, write_qrels, write_run


# ----------------------------------------------------------------------------- helpers
def make_beir(folder: Path, corpus=None, queries=None, qrels=None, split="test") -> Path:
    corpus = corpus if corpus is not None else [{"_id": f"d{i}", "title": f"T{i}", "text": f"text {i}"} for i in range(6)]
    queries = queries if queries is not None else [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "second"}]
    qrels = qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\n"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus) if isinstance(corpus, list) else corpus)
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries) if isinstance(queries, list) else queries)
    (folder / "qrels" / f"{split}.tsv").write_text(qrels)
    return folder


# ----------------------------------------------------------------------------- loading
def test_beir_folder_loads_with_queries_of_the_split(tmp_path):
    ds = load_dataset(str(make_beir(tmp_path / "c")))
    assert ds.doc_ids == [f"d{i}" for i in range(6)]
    assert ds.queries == {"q1": "first", "q2": "second"}
    assert ds.qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    assert ds.doc_text("d1") == "T1 text 1"
    assert "2 queries" in ds.describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"corpus": '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n'}, "corpus.jsonl:2: duplicate document id 'd1'"),
        ({"corpus": '{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": \n'}, "corpus.jsonl:2: malformed JSON"),
        ({"corpus": '{"title": "x"}\n'}, 'corpus.jsonl:1: document line has no "_id"'),
        ({"queries": '{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "  "}\n'}, "queries.jsonl:2: query 'q2' has empty text"),
        ({"queries": '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n'}, "queries.jsonl:2: duplicate query id 'q1'"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "test.tsv:2: grade 'high' is not an integer"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1.5\n"}, "test.tsv:2: grade '1.5' is not an integer"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\n"}, "test.tsv:2: expected"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n"}, "test.tsv:3: query 'q1' / document 'd1' judged twice"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq9\td1\t1\n"}, "not in queries.jsonl, e.g. 'q9'"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(tmp_path, kwargs, message):
    folder = make_beir(tmp_path / "c", **kwargs)
    with pytest.raises(ValueError) as info:
        load_dataset(str(folder))
    text = str(info.value)
    assert message in text and "\n" not in text


def test_missing_files_and_unknown_names(tmp_path):
    folder = make_beir(tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="no qrels for split 'dev'"):
        load_dataset(str(folder), split="dev")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="not a BEIR folder"):
        load_dataset(str(folder))
    with pytest.raises(FileNotFoundError, match="unknown dataset"):
        load_dataset("no-such-dataset")
    with pytest.raises(FileNotFoundError, match="file not found"):
        read_run(tmp_path / "absent.trec")


def test_judgments_of_unknown_documents_are_dropped_with_a_warning(tmp_path):
    folder = make_beir(tmp_path / "c", qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\tzzz\t1\n")
    with pytest.warns(UserWarning, match="dropped 1 judgments"):
        ds = load_dataset(str(folder))
    assert ds.qrels == {"q1": {"d1": 1}}


# ----------------------------------------------------------------------------- TREC formats
def test_run_round_trip_is_exact_and_ranked(tmp_path):
    run = {"q1": {"a": 0.5, "b": 1 / 3, "c": 0.5}, "q2": {"x": -1e-9}}
    path = write_run(run, tmp_path / "r.trec", tag="bm25")
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["q1", "Q0", "c", "1", "0.5", "bm25"]
    assert lines[1].split()[2] == "a"  # a tie goes to the larger doc id: trec_eval's order
    assert read_run(path) == run
    assert read_run(write_run(run, tmp_path / "r2.trec", k=1)) == {"q1": {"c": 0.5}, "q2": {"x": -1e-9}}


@pytest.mark.parametrize("run, what", [({"q 1": {"a": 1.0}}, "whitespace"), ({"q1": {"d\t2": 1.0}}, "whitespace"),
                                       ({"q1": {"": 1.0}}, "empty"), ({"q1": {"a": float("nan")}}, "NaN")])
def test_write_run_refuses_ids_trec_eval_cannot_read_and_writes_nothing(tmp_path, run, what):
    with pytest.raises(ValueError, match=what):
        write_run(run, tmp_path / "bad.trec")
    assert not (tmp_path / "bad.trec").exists()


def test_run_is_what_pytrec_eval_reads(tmp_path):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    run = {"q1": {"a": 2.0, "b": 1.0}}
    qrels = {"q1": {"b": 1}}
    path = write_run(run, tmp_path / "r.trec")
    qpath = write_qrels(qrels, tmp_path / "q.txt")
    ours = pytrec_eval.RelevanceEvaluator(read_qrels(qpath), {"ndcg"}).evaluate(read_run(path))
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg"}).evaluate(run)
    assert ours == ref


@pytest.mark.parametrize("bad, message", [
    ("q1 Q0 d1 1 0.5\n", "r.trec:1: expected 6 columns"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 x 0.4 t\n", "r.trec:2: rank 'x'"),
    ("q1 Q0 d1 1 high t\n", "r.trec:1: score 'high'"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", "r.trec:2: document 'd1' appears twice"),
])
def test_bad_run_lines(tmp_path, bad, message):
    (tmp_path / "r.trec").write_text(bad)
    with pytest.raises(ValueError, match=message):
        read_run(tmp_path / "r.trec")


@pytest.mark.parametrize("fmt", ["trec", "beir"])
def test_qrels_round_trip_both_formats(tmp_path, fmt):
    qrels = {"q1": {"d1": 3, "d2": 0}, "q 2".replace(" ", "_"): {"d9": 1}}
    path = write_qrels(qrels, tmp_path / "q.txt", format=fmt)
    first = path.read_text().splitlines()[0]
    assert (first == "query-id\tcorpus-id\tscore") == (fmt == "beir")
    assert read_qrels(path) == qrels


def test_write_is_atomic_on_error(tmp_path):
    path = write_run({"q": {"d": 1.0}}, tmp_path / "r.trec")
    with pytest.raises(ValueError):
        write_run({"q": {"d": 1.0}}, path, tag="two words")
    with pytest.raises(ValueError):
        write_qrels({"q": {"d": 1.5}}, path)
    assert read_run(path) == {"q": {"d": 1.0}}
    assert [p.name for p in tmp_path.iterdir()] == ["r.trec"]


# ----------------------------------------------------------------------------- subsets
def _toy(n_docs=200, n_q=40) -> Dataset:
    corpus = {f"d{i}": {"title": "", "text": f"doc {i}"} for i in range(n_docs)}
    queries = {f"q{j}": f"query {j}" for j in range(n_q)}
    qrels = {f"q{j}": {f"d{(7 * j) % n_docs}": 1, f"d{(7 * j + 1) % n_docs}": 0} for j in range(n_q)}
    return Dataset("toy", corpus, queries, qrels)


def test_subset_keeps_judged_docs_and_is_deterministic():
    ds = _toy()
    a = ds.subset(n_docs=50, n_queries=10, seed=3)
    b = ds.subset(n_docs=50, n_queries=10, seed=3)
    c = ds.subset(n_docs=50, n_queries=10, seed=4)
    assert a.corpus == b.corpus and a.qrels == b.qrels
    assert a.queries != c.queries
    assert len(a.queries) == 10 and len(a.corpus) == 50
    assert all(d in a.corpus for docs in a.qrels.values() for d in docs)
    assert a.doc_ids == [d for d in ds.doc_ids if d in a.corpus]  # corpus order kept
    assert "subset of 40 queries" in a.describe()
    big = ds.subset(n_docs=5, n_queries=40, seed=0)  # judged docs exceed n_docs: all kept
    assert len(big.corpus) == 80


def test_subset_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"subset\(n_docs=0\)"):
        _toy().subset(n_docs=0, n_queries=3)


# ----------------------------------------------------------------------------- the bundled sample
def test_sample_collection_is_well_formed_and_big_enough():
    test, train = load_dataset("sample", "test"), load_dataset("sample", "train")
    assert len(test.corpus) >= 300
    assert len(test.queries) + len(train.queries) >= 120
    assert not set(test.queries) & set(train.queries)
    grades = {g for ds in (test, train) for docs in ds.qrels.values() for g in docs.values()}
    assert grades == {0, 1, 2, 3}
    types = dict(line.split("\t")[:2] for line in (data.sample_dir() / "query_types.tsv").read_text().splitlines()[1:])
    assert set(test.queries) | set(train.queries) <= set(types)
    assert {"paraphrase", "identifier", "long", "near_duplicate", "plain"} <= set(types.values())
    long_docs = [d for d in test.doc_ids if len(test.doc_text(d).split()) > 400]
    assert len(long_docs) >= 10


def test_course_dataset_falls_back_to_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("LESSONLIB_DATA", str(tmp_path))
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    ds = data.course_dataset("test", fast=True)
    assert ds.meta["source"] == "sample" and ds.meta.get("subset") is None


def test_course_dataset_follows_lessonlib_dataset(monkeypatch, tmp_path):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    folder = make_beir(tmp_path / "mine")
    make_beir(folder, qrels="query-id\tcorpus-id\tscore\nq2\td4\t1\n", split="train")
    monkeypatch.setenv("LESSONLIB_DATASET", str(folder))
    test, train = data.course_dataset("test", fast=False), data.course_dataset("train", fast=False)
    assert (test.name, test.split, set(test.queries)) == ("mine", "test", {"q1", "q2"})
    assert train.qrels == {"q2": {"d4": 1}} and "carved" not in train.meta
    monkeypatch.setenv("LESSONLIB_DATASET", "sample")
    assert data.course_dataset("test").meta["source"] == "sample"
    monkeypatch.setenv("LESSONLIB_DATASET", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="unknown dataset"):
        data.course_dataset("test")


def test_a_collection_without_train_split_gets_one_carved_from_its_test_queries(monkeypatch, tmp_path):
    queries = [{"_id": f"x{i}", "text": f"query {i}"} for i in range(9)]
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"x{i}\td{i % 6}\t1\n" for i in range(9))
    folder = make_beir(tmp_path / "notrain", queries=queries, qrels=qrels)
    monkeypatch.setenv("LESSONLIB_DATASET", str(folder))
    train, test = data.course_dataset("train", fast=False), data.course_dataset("test", fast=False)
    assert set(train.queries).isdisjoint(test.queries), "no query is both trained on and reported"
    assert set(train.queries) | set(test.queries) == {f"x{i}" for i in range(9)}
    assert (len(train.queries), len(test.queries)) == (4, 5)
    assert set(train.qrels) == set(train.queries) and train.corpus == test.corpus
    assert train.meta["carved"] == {"from": "test", "train": 4, "test": 5, "seed": 0}
    assert "no train split in this collection" in test.describe()
    assert data.course_dataset("train", fast=False).queries == train.queries, "deterministic"
    fast_test = data.course_dataset("test", fast=True)
    assert set(fast_test.queries) <= set(test.queries)
    with pytest.raises(ValueError, match="at least 2"):
        data.carve_train_split(load_dataset(str(make_beir(tmp_path / "one", qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\n"))))


# ----------------------------------------------------------------------------- SciFact
@pytest.mark.scifact
def test_scifact_counts(scifact, scifact_train):
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == 300 and sum(map(len, scifact.qrels.values())) == 339
    assert len(scifact_train.queries) == 809 and sum(map(len, scifact_train.qrels.values())) == 919


@pytest.mark.scifact
def test_course_dataset_fast_subsets_share_documents(scifact):
    if data.find_local("scifact") is None:
        pytest.skip("SciFact not local")
    test = data.course_dataset("test", fast=True)
    train = data.course_dataset("train", fast=True)
    assert (len(test.queries), len(test.corpus)) == (60, 1000)
    assert (len(train.queries), len(train.corpus)) == (200, 1500)
    assert set(test.corpus) <= set(train.corpus)
    assert data.course_dataset("test", fast=True).corpus.keys() == test.corpus.keys()
    assert len(data.course_dataset("test", fast=False).queries) == 300


# ----------------------------------------------------------------------------- downloads
PAYLOAD = b"corpus bytes " * 5000


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        full = body
        if self.path.startswith("/truncated"):
            body = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(full)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_verifies_checksum_then_moves_into_place(tmp_path, server):
    _Handler.files = {"/ok": PAYLOAD, "/truncated": PAYLOAD}
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    out = download.download(f"{server}/ok", tmp_path / "f.bin", md5=md5)
    assert out.read_bytes() == PAYLOAD


def test_corrupted_and_truncated_downloads_leave_nothing(tmp_path, server):
    corrupted = bytearray(PAYLOAD)
    corrupted[100] ^= 1
    _Handler.files = {"/bad": bytes(corrupted), "/truncated": PAYLOAD}
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    with pytest.raises(download.ChecksumError, match="checksum mismatch"):
        download.download(f"{server}/bad", tmp_path / "f.bin", md5=md5)
    with pytest.raises(OSError):
        download.download(f"{server}/truncated", tmp_path / "f.bin", md5=md5)
    with pytest.raises(OSError):
        download.download(f"{server}/missing", tmp_path / "f.bin")
    assert list(tmp_path.iterdir()) == []


def test_file_url_and_zip_dataset_fetch(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mini/corpus.jsonl", '{"_id": "d1", "title": "", "text": "alpha"}\n')
        zf.writestr("mini/queries.jsonl", '{"_id": "q1", "text": "alpha?"}\n')
        zf.writestr("mini/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    archive = tmp_path / "mini.zip"
    archive.write_bytes(buf.getvalue())
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LESSONLIB_DATA", raising=False)
    monkeypatch.setitem(data.KNOWN_DATASETS, "mini", {"url": archive.as_uri(), "md5": hashlib.md5(buf.getvalue()).hexdigest(), "title": "Mini"})
    ds = load_dataset("mini")
    assert ds.queries == {"q1": "alpha?"}
    assert (tmp_path / "cache" / "datasets" / "mini" / "corpus.jsonl").is_file()
    assert not list((tmp_path / "cache" / "datasets").glob("*.zip"))


def test_offline_error_names_dataset_address_and_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LESSONLIB_DATA", str(tmp_path / "nothing"))
    monkeypatch.setitem(data.KNOWN_DATASETS, "scifact", dict(data.KNOWN_DATASETS["scifact"], url="http://127.0.0.1:9/scifact.zip"))
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("scifact")
    text = str(info.value)
    assert "'scifact'" in text and "http://127.0.0.1:9/scifact.zip" in text and "LESSONLIB_DATA" in text
    assert "\n" not in text


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "ok/../../evil.txt"])
def test_malicious_zip_is_refused_and_nothing_written(tmp_path, member):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "fine")
        zf.writestr(zipfile.ZipInfo(member), "evil")
    target = tmp_path / "out" / "target"
    with pytest.raises(ValueError, match="unsafe zip member"):
        download.extract_zip(archive, target)
    assert not target.exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "evil.txt").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        download.extract_zip(archive, tmp_path / "t")



def test_split_validation_and_split_queries_are_one_seeded_cut():
    from lessonlib.data import split_queries

    train = load_dataset("sample", "train")
    fit, val = train.split_validation(0.2, seed=0)
    assert (sorted(fit.queries), sorted(val.queries)) == split_queries(train.qrels, 0.2, seed=0)
    assert not set(fit.queries) & set(val.queries) and len(fit.queries) + len(val.queries) == len(train.queries)
    assert abs(len(val.queries) - 0.2 * len(train.queries)) <= 1 and val.corpus is train.corpus
    assert split_queries(train.qrels, 0.2, seed=1) != split_queries(train.qrels, 0.2, seed=0)
    with pytest.raises(ValueError, match="fraction"):
        split_queries(["a"], 1.0)
