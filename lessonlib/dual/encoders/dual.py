"""The dual encoder (two-tower model): queries and documents encoded separately, compared by a
similarity function.

    e_q = norm(P_q(pool(T_q(q))))     e_d = norm(P_d(pool(T_d(d))))     s(q, d) = sim(e_q, e_d)

T = tower (shared: T_q = T_d, "Siamese"; asymmetric: two towers), pool = cls | mean | max |
attention, P = optional linear projection head, norm = optional L2 normalisation, sim = ip |
cosine | l2 | bilinear (:mod:`lessonlib.core.similarity`). Documents can be encoded once,
offline; a query costs one tower pass plus inner products (Sentence-BERT, Reimers & Gurevych
2019; DPR, Karpukhin et al. 2020).

>>> model = DualEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
>>> q = model.embed_queries(["what do statins do?"])          # (1, 384), with gradients
>>> d = model.embed_docs(["Statins lower LDL cholesterol."])  # (1, 384)
>>> model.score(q, d).shape
torch.Size([1, 1])

Saving (``model.save(folder)``): when the model is something sentence-transformers can express
(one shared transformer tower, cls/mean/max pooling, optional linear projection, optional
normalisation, ip/cosine/l2 similarity) the folder is a sentence-transformers model:
``SentenceTransformer(folder)`` loads it and encodes identically; its ``similarity_fn_name`` is
sentence-transformers' name for the similarity (``"ip"`` -> ``"dot"``, ``"l2"`` -> ``"euclidean"``,
translated back on load). Otherwise (attention pooling, bilinear similarity, BiLSTM/CNN towers,
asymmetric towers) it is lessonlib's own format
(``dual_encoder.json`` + ``dual_encoder.safetensors`` + tokenizer / backbone sub-folders), loadable
by ``DualEncoder.load(folder)`` only. ``DualEncoder.load`` also reads any sentence-transformers
folder made of Transformer / Pooling / Dense / Normalize modules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lessonlib import __version__
from lessonlib.dual.encode import encode
from lessonlib.dual.encoders.pooling import Pooling
from lessonlib.dual.encoders.similarity import Similarity
from lessonlib.dual.encoders.towers import BiLSTMTower, CNNTower, TransformerTower
from lessonlib.core import runtime
from lessonlib.core.io import atomic_dir, atomic_write, verify_folder
from lessonlib.core.similarity import TO_SENTENCE_TRANSFORMERS, from_sentence_transformers, to_sentence_transformers

FORMAT = "lessonlib.DualEncoder"
_TOWERS = {"transformer": TransformerTower, "bilstm": BiLSTMTower, "cnn": CNNTower}


class DualEncoder(nn.Module):
    """Two towers (or one shared), optional projection head, optional normalisation, a similarity.

    Args:
        query_tower: a tower (see :mod:`lessonlib.dual.encoders.towers`).
        doc_tower: the document tower; ``None`` (default) shares ``query_tower``.
        projection_dim: if set, a linear head ``tower.dim -> projection_dim`` (one per tower when
            the towers are separate).
        normalize: L2-normalise the final vectors.
        similarity: ``ip | cosine | l2 | bilinear`` (:mod:`lessonlib.core.similarity`).
        query_max_length: token limit for queries (default: the tower's ``max_length``).
    """

    def __init__(
        self,
        query_tower: nn.Module,
        doc_tower: nn.Module | None = None,
        *,
        projection_dim: int | None = None,
        normalize: bool = True,
        similarity: str = "cosine",
        query_max_length: int | None = None,
    ) -> None:
        super().__init__()
        self.shared = doc_tower is None or doc_tower is query_tower
        self.query_tower = query_tower
        self.doc_tower = query_tower if self.shared else doc_tower
        self.projection_dim = projection_dim
        if projection_dim is not None:
            if projection_dim < 1:
                raise ValueError(f"DualEncoder(projection_dim={projection_dim}): must be >= 1 or None")
            self.query_proj = nn.Linear(query_tower.dim, projection_dim)
            self.doc_proj = self.query_proj if self.shared else nn.Linear(self.doc_tower.dim, projection_dim)
        else:
            if not self.shared and query_tower.dim != self.doc_tower.dim:
                raise ValueError(
                    f"DualEncoder: query tower dim {query_tower.dim} != doc tower dim {self.doc_tower.dim}; "
                    "set projection_dim to map both to one size"
                )
            self.query_proj = self.doc_proj = None
        self.normalize = bool(normalize)
        self.similarity = Similarity(similarity, self.dim)
        self.query_max_length = query_max_length
        self.last_truncated = 0

    # ----------------------------------------------------------------------------- building
    @classmethod
    def from_pretrained(
        cls,
        name: str | os.PathLike,
        pooling: str = "mean",
        shared: bool = True,
        normalize: bool = True,
        max_length: int = 256,
        query_max_length: int | None = None,
        projection_dim: int | None = None,
        similarity: str = "cosine",
        attn_implementation: str | None = "sdpa",
        seed: int = 0,
    ) -> DualEncoder:
        """A dual encoder on a pretrained transformer (model id or folder, resolved offline).

        ``shared=False`` makes two independent copies of the backbone (asymmetric towers), both
        starting from the same weights. A folder written by :meth:`save` with lessonlib's own
        format is loaded with :meth:`load` instead (the other arguments are then ignored).
        """
        folder = Path(str(name)).expanduser()
        if (folder / "dual_encoder.json").exists():
            return cls.load(folder)
        torch.manual_seed(seed)  # projection / attention-pooling / bilinear initialisation
        q = TransformerTower(name, pooling=pooling, max_length=max_length, attn_implementation=attn_implementation)
        d = None if shared else TransformerTower(name, pooling=pooling, max_length=max_length,
                                                 attn_implementation=attn_implementation)
        model = cls(q, d, projection_dim=projection_dim, normalize=normalize, similarity=similarity,
                    query_max_length=query_max_length)
        model.source = str(name)
        return model

    # ----------------------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        """Size of the final vectors."""
        return self.projection_dim or self.query_tower.dim

    @property
    def tokenizer(self):
        """The (query tower's) tokenizer."""
        return self.query_tower.tokenizer

    @property
    def max_length(self) -> int:
        """Token limit for documents."""
        return self.doc_tower.max_length

    @property
    def pooling(self) -> str:
        return self.query_tower.pooling.mode

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def tower(self, kind: str) -> nn.Module:
        """``"query"`` or ``"doc"`` -> that tower."""
        if kind not in ("query", "doc"):
            raise ValueError(f"tower(kind={kind!r}): kind must be 'query' or 'doc'")
        return self.query_tower if kind == "query" else self.doc_tower

    def max_length_for(self, kind: str) -> int:
        if kind == "query" and self.query_max_length:
            return self.query_max_length
        return self.tower(kind).max_length

    # ----------------------------------------------------------------------------- forward
    def forward_batch(self, batch: dict[str, torch.Tensor], kind: str = "doc") -> torch.Tensor:
        """Tokenised batch (input_ids, attention_mask) -> final vectors (B, dim)."""
        vectors = self.tower(kind)(batch)
        proj = self.query_proj if kind == "query" else self.doc_proj
        if proj is not None:
            vectors = proj(vectors)
        if self.normalize:  # in fp32: a bf16 norm is off by up to ~0.4 % (a model held in bf16, autocast)
            vectors = F.normalize(vectors.float(), p=2, dim=-1)
        return vectors

    forward = forward_batch

    def embed(self, texts: Sequence[str], kind: str = "doc", max_length: int | None = None) -> torch.Tensor:
        """Texts -> (B, dim) vectors with gradients (tokenised inside). Counts truncations in
        ``self.last_truncated``."""
        tower = self.tower(kind)
        batch = tower.tokenize(texts, max_length or self.max_length_for(kind))
        self.last_truncated = tower.last_truncated
        return self.forward_batch(batch, kind)

    def embed_queries(self, texts: Sequence[str]) -> torch.Tensor:
        """Queries -> (B, dim), with gradients."""
        return self.embed(texts, "query")

    def embed_docs(self, texts: Sequence[str]) -> torch.Tensor:
        """Documents -> (B, dim), with gradients."""
        return self.embed(texts, "doc")

    def score(self, q_emb: torch.Tensor, d_emb: torch.Tensor) -> torch.Tensor:
        """Similarity of every query with every document: (Bq, dim), (Bd, dim) -> (Bq, Bd)."""
        return self.similarity(q_emb, d_emb)

    def encode(self, texts: Sequence[str], kind: str = "doc", **kwargs):
        """Batched, no-gradient numpy encoding: see :func:`lessonlib.dual.encode.encode`."""
        return encode(self, texts, kind=kind, **kwargs)

    # ----------------------------------------------------------------------------- saving
    @property
    def sentence_transformers_compatible(self) -> bool:
        """True when :meth:`save` writes a folder that ``SentenceTransformer(folder)`` loads."""
        return (
            self.shared
            and isinstance(self.query_tower, TransformerTower)
            and self.pooling in ("cls", "mean", "max")
            and self.similarity.kind in TO_SENTENCE_TRANSFORMERS
        )

    def config(self) -> dict:
        """Everything needed to rebuild the model (without its weights)."""
        towers = {}
        for kind in ("query", "doc"):
            t = self.tower(kind)
            if isinstance(t, TransformerTower):
                towers[kind] = {"kind": "transformer", "pooling": t.pooling.mode, "max_length": t.max_length,
                                "source": t.source}
            else:
                towers[kind] = {"kind": t.kind, **t.config}
        return {
            "format": FORMAT,
            "version": 1,
            "shared": self.shared,
            "normalize": self.normalize,
            "similarity": self.similarity.kind,
            "projection_dim": self.projection_dim,
            "query_max_length": self.query_max_length,
            "towers": towers,
            "sentence_transformers": self.sentence_transformers_compatible,
        }

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the model to ``folder`` atomically (sentence-transformers layout when possible)."""
        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            if self.sentence_transformers_compatible:
                self._save_sentence_transformers(tmp)
            else:
                self._save_own(tmp)
            with atomic_write(tmp / "dual_encoder.json") as handle:
                json.dump(self.config(), handle, indent=2)
        return folder

    def _save_sentence_transformers(self, out: Path) -> None:
        from safetensors.torch import save_file

        tower = self.query_tower
        modules = [{"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}]
        t_dir = out / "0_Transformer"
        tower.model.save_pretrained(t_dir, safe_serialization=True)
        tower.tokenizer.save_pretrained(t_dir)
        _write_json(t_dir / "sentence_bert_config.json", {"max_seq_length": tower.max_length, "do_lower_case": False})
        _write_json(out / "1_Pooling" / "config.json", {
            "word_embedding_dimension": tower.dim,
            "pooling_mode_cls_token": self.pooling == "cls",
            "pooling_mode_mean_tokens": self.pooling == "mean",
            "pooling_mode_max_tokens": self.pooling == "max",
            "pooling_mode_mean_sqrt_len_tokens": False,
        })
        modules.append({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"})
        if self.query_proj is not None:
            d_dir = out / f"{len(modules)}_Dense"
            _write_json(d_dir / "config.json", {
                "in_features": tower.dim, "out_features": self.projection_dim, "bias": True,
                "activation_function": "torch.nn.modules.linear.Identity",
            })
            save_file({"linear.weight": self.query_proj.weight.detach().cpu().contiguous(),
                       "linear.bias": self.query_proj.bias.detach().cpu().contiguous()}, str(d_dir / "model.safetensors"))
            modules.append({"idx": len(modules), "name": str(len(modules)), "path": d_dir.name,
                            "type": "sentence_transformers.models.Dense"})
        if self.normalize:
            n_dir = out / f"{len(modules)}_Normalize"
            n_dir.mkdir()
            modules.append({"idx": len(modules), "name": str(len(modules)), "path": n_dir.name,
                            "type": "sentence_transformers.models.Normalize"})
        _write_json(out / "modules.json", modules)
        _write_json(out / "config_sentence_transformers.json", {
            "__version__": {"lessonlib": _version(), "pytorch": torch.__version__},
            "prompts": {}, "default_prompt_name": None,
            "similarity_fn_name": to_sentence_transformers(self.similarity.kind),
        })

    def _save_own(self, out: Path) -> None:
        from safetensors.torch import save_file

        for kind in ("query",) if self.shared else ("query", "doc"):
            tower = self.tower(kind)
            sub = out / kind
            if isinstance(tower, TransformerTower):
                tower.model.save_pretrained(sub, safe_serialization=True)
            tower.tokenizer.save_pretrained(sub)
        state = {k: v.detach().cpu().contiguous() for k, v in self._head_state().items()}
        save_file(state, str(out / "dual_encoder.safetensors"))

    def _head_state(self) -> dict[str, torch.Tensor]:
        """Parameters not stored by a backbone's save_pretrained (one copy of shared modules)."""
        state = {}
        for name, tensor in self.state_dict().items():
            parts = name.split(".")
            if len(parts) > 2 and parts[1] == "model":
                continue  # transformer backbone: saved with save_pretrained
            if self.shared and name.startswith(("doc_tower.", "doc_proj.")):
                continue
            state[name] = tensor
        return state

    @classmethod
    def load(cls, folder: str | os.PathLike, attn_implementation: str | None = "sdpa") -> DualEncoder:
        """Load a folder written by :meth:`save`, or any sentence-transformers folder made of
        Transformer / Pooling / (Dense) / (Normalize) modules. A folder lessonlib saved is checked
        against its manifest first (a corrupt file is a one-line error naming it)."""
        folder = Path(folder)
        verify_folder(folder)
        cfg_path = folder / "dual_encoder.json"
        if cfg_path.exists():
            cfg = json.loads(cfg_path.read_text())
            if cfg.get("format") != FORMAT:
                raise ValueError(f"DualEncoder.load({str(folder)!r}): dual_encoder.json has format "
                                 f"{cfg.get('format')!r}, expected {FORMAT!r}")
            if not cfg.get("sentence_transformers"):
                return cls._load_own(folder, cfg, attn_implementation)
        if (folder / "modules.json").exists():
            return cls._load_sentence_transformers(folder, attn_implementation)
        raise FileNotFoundError(f"DualEncoder.load({str(folder)!r}): neither dual_encoder.json nor modules.json found")

    @classmethod
    def _load_own(cls, folder: Path, cfg: dict, attn_implementation: str | None) -> DualEncoder:
        from safetensors.torch import load_file

        towers = {}
        for kind in ("query",) if cfg["shared"] else ("query", "doc"):
            tcfg = dict(cfg["towers"][kind])
            tkind = tcfg.pop("kind")
            if tkind == "transformer":
                towers[kind] = TransformerTower(folder / kind, pooling=tcfg["pooling"], max_length=tcfg["max_length"],
                                                attn_implementation=attn_implementation)
                towers[kind].source = tcfg.get("source", str(folder / kind))
            else:
                tcfg["tokenizer_name"] = str(folder / kind)
                towers[kind] = _TOWERS[tkind](**tcfg)
        model = cls(towers["query"], towers.get("doc"), projection_dim=cfg["projection_dim"],
                    normalize=cfg["normalize"], similarity=cfg["similarity"],
                    query_max_length=cfg.get("query_max_length"))
        state = load_file(str(folder / "dual_encoder.safetensors"))
        missing, unexpected = model.load_state_dict(state, strict=False)
        expected_missing = set(n for n in model.state_dict() if n not in model._head_state())
        bad = [m for m in missing if m not in expected_missing]
        if bad or unexpected:
            raise ValueError(f"DualEncoder.load({str(folder)!r}): weights do not match the config "
                             f"(missing {bad[:5]}, unexpected {list(unexpected)[:5]})")
        model.source = str(folder)
        return model

    @classmethod
    def _load_sentence_transformers(cls, folder: Path, attn_implementation: str | None) -> DualEncoder:
        modules = json.loads((folder / "modules.json").read_text())
        transformer_dir, pooling, dense, normalize = None, "mean", None, False
        for m in modules:
            kind = m["type"].rsplit(".", 1)[-1].lower()
            path = folder / m["path"]
            if kind == "transformer":
                transformer_dir = path
            elif kind == "pooling":
                pooling = _pooling_from_st(json.loads((path / "config.json").read_text()), folder)
            elif kind == "dense":
                dense = path
            elif kind == "normalize":
                normalize = True
            else:
                raise ValueError(f"DualEncoder.load({str(folder)!r}): unsupported module {m['type']!r}")
        if transformer_dir is None:
            raise ValueError(f"DualEncoder.load({str(folder)!r}): no Transformer module in modules.json")
        max_length = 512
        for candidate in (transformer_dir / "sentence_bert_config.json", folder / "sentence_bert_config.json"):
            if candidate.exists():
                max_length = json.loads(candidate.read_text()).get("max_seq_length") or max_length
                break
        st_cfg = folder / "config_sentence_transformers.json"
        st_name = json.loads(st_cfg.read_text()).get("similarity_fn_name") if st_cfg.exists() else None
        similarity = from_sentence_transformers(st_name)
        tower = TransformerTower(transformer_dir, pooling=pooling, max_length=max_length,
                                 attn_implementation=attn_implementation)
        projection_dim = None
        dense_state = None
        if dense is not None:
            dcfg = json.loads((dense / "config.json").read_text())
            act = dcfg.get("activation_function", "torch.nn.modules.linear.Identity")
            if not act.endswith("Identity"):
                raise ValueError(f"DualEncoder.load({str(folder)!r}): Dense activation {act!r} is not supported "
                                 "(only a linear projection head)")
            projection_dim = int(dcfg["out_features"])
            from safetensors.torch import load_file

            dense_state = load_file(str(dense / "model.safetensors"))
        model = cls(tower, projection_dim=projection_dim, normalize=normalize, similarity=similarity)
        if dense_state is not None:
            model.query_proj.weight.data.copy_(dense_state["linear.weight"])
            if "linear.bias" in dense_state:
                model.query_proj.bias.data.copy_(dense_state["linear.bias"])
            else:
                model.query_proj.bias.data.zero_()
        model.source = str(folder)
        return model


def _pooling_from_st(cfg: dict, folder: Path) -> str:
    """Pooling mode from a sentence-transformers 1_Pooling/config.json (old or new keys)."""
    if "pooling_mode" in cfg:
        mode = cfg["pooling_mode"]
    else:
        modes = [k for k in ("cls", "mean", "max") if cfg.get(f"pooling_mode_{k}_token" if k == "cls" else f"pooling_mode_{k}_tokens")]
        extra = [k for k, v in cfg.items() if k.startswith("pooling_mode") and v and not any(m in k for m in ("cls_token", "mean_tokens", "max_tokens"))]
        if len(modes) != 1 or extra:
            raise ValueError(f"DualEncoder.load({str(folder)!r}): pooling {cfg} is not one of cls/mean/max")
        mode = modes[0]
    if mode not in ("cls", "mean", "max"):
        raise ValueError(f"DualEncoder.load({str(folder)!r}): pooling mode {mode!r} is not supported")
    return mode


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        json.dump(obj, handle, indent=2)


def _version() -> str:
    return __version__


__all__ = ["DualEncoder", "Pooling", "Similarity"]


# ----------------------------------------------------------------------------- token-level calls (training)
def towers(model) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(query tower, document tower) of a dual encoder (the same module when shared)."""
    for q_name, d_name in (("query_tower", "doc_tower"), ("query_encoder", "doc_encoder"), ("q_tower", "d_tower")):
        if hasattr(model, q_name) and hasattr(model, d_name):
            return getattr(model, q_name), getattr(model, d_name)
    if hasattr(model, "tower"):
        return model.tower, model.tower
    raise TypeError(f"towers(model={type(model).__name__}): expected query_tower / doc_tower attributes")


def _normalize(model) -> bool:
    return bool(getattr(model, "normalize", True))


def embed_tokens(model, which: str, token_lists: Sequence[list[int]], max_length: int) -> torch.Tensor:
    """Embeddings (B, dim) with gradients of pre-tokenised texts through one tower (+ head, norm)."""
    q_tower, d_tower = towers(model)
    tower = q_tower if which == "query" else d_tower
    batch = tower.collate(token_lists, max_length)
    device = next(tower.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    if hasattr(model, "forward_batch"):
        return model.forward_batch(batch, which)
    out = tower(batch)
    return torch.nn.functional.normalize(out.float(), dim=-1) if _normalize(model) else out


@torch.no_grad()
def encode_token_ids(model, which: str, token_lists: Sequence[list[int]], max_length: int, batch_size: int = 128) -> np.ndarray:
    """Embeddings (n, dim) float32 of pre-tokenised texts, in batches sorted by length (no grad)."""
    q_tower, d_tower = towers(model)
    tower = q_tower if which == "query" else d_tower
    was_training = tower.training
    tower.eval()
    device = next(tower.parameters()).device
    order = np.argsort([-min(len(t), max_length) for t in token_lists], kind="stable")
    out = np.zeros((len(token_lists), 0), dtype=np.float32)
    chunks = []
    use_bf16 = isinstance(tower, TransformerTower) and runtime.choose_precision("encode_token_ids", "auto", device) == "bf16"
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        with autocast:
            emb = embed_tokens(model, which, [token_lists[i] for i in idx], max_length)
        chunks.append(emb.float().cpu().numpy())
    tower.train(was_training)
    if chunks:
        flat = np.concatenate(chunks)
        out = np.empty_like(flat)
        out[order] = flat
    return out
