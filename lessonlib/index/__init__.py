"""Vector indexes behind one protocol (see ``lessonlib.index.base``).

Teaching implementations in numpy (read them): FlatIndex, IVFIndex, LSHIndex, SQIndex, PQIndex,
OPQIndex, HNSWIndex. Production: FaissIndex (any FAISS factory string) and the peers
AnnoyIndex, HnswlibIndex, ScannIndex and NmslibIndex (if ``scann`` / ``nmslib`` are installed: ``peer_status``
says why not).

>>> from lessonlib.index import IVFIndex, FaissIndex
>>> ours = IVFIndex(384, nlist=64, nprobe=8).train(x).add(x)
>>> theirs = FaissIndex("IVF64,Flat", 384, nprobe=8).train(x).add(x)
"""

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, merge_topk
from lessonlib.index.faiss_index import FaissIndex
from lessonlib.index.flat import FlatIndex
from lessonlib.index.hnsw import HNSWIndex
from lessonlib.index.ivf import IVFIndex
from lessonlib.index.lsh import LSHIndex
from lessonlib.index.opq import OPQIndex
from lessonlib.index.libraries import (AnnoyIndex, HnswlibIndex, NmslibIndex, ScannIndex, nmslib_available, peer_status,
                                       scann_available)
from lessonlib.index.pq import PQIndex, ProductQuantizer
from lessonlib.index.sq import SQIndex

load = Index.load

__all__ = ["Index", "FlatIndex", "IVFIndex", "LSHIndex", "SQIndex", "PQIndex", "ProductQuantizer", "OPQIndex",
           "HNSWIndex", "FaissIndex", "AnnoyIndex", "HnswlibIndex", "ScannIndex", "NmslibIndex", "scann_available",
           "nmslib_available", "peer_status", "load",
           "topk", "merge_topk"]
