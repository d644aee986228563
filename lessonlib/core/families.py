"""Transformer model families as backbones: architecture and cost from the published configurations.

Day 10.1 §1.3 (BERT variants, domain-specific and multilingual encoders) and Day 10.2 §2 (RoBERTa,
DeBERTa, ELECTRA backbones, model-size scaling). Taught in notebook 01 (dual encoders) and notebook 14
(cross-encoders).

Every family below is rebuilt from the published sizes with transformers' own configuration class
(``BertConfig``, ``RobertaConfig``, ``DistilBertConfig``, ``DebertaV2Config``, ``ElectraConfig``,
``XLMRobertaConfig``) and **random weights**: what a model costs (parameters, weight memory, FLOPs, CPU
latency, peak memory of a forward pass) depends only on its shapes, so it can be measured without the
checkpoint; what it is *worth* (nDCG@10) needs the trained weights, which this project has offline only
for all-MiniLM-L6-v2 (:func:`local_checkpoints` looks the others up in the Hugging Face cache).

Parameters of a transformer encoder with vocabulary V, P positions, S segment types, L layers, width h and
feed-forward width i (biases and LayerNorms included)::

    embeddings  (V + P + S) h + 2 h
    per layer   4 (h^2 + h) + 2 h i + i + h + 4 h          (Q, K, V, O; two FFN matrices; two LayerNorms)
    pooler      h^2 + h                                     (BERT, RoBERTa; not DistilBERT, ELECTRA, DeBERTa)

so BERT-base (V = 30,522, P = 512, S = 2, L = 12, h = 768, i = 3,072) has 109.5 M (Devlin et al. 2019:
"110M"); the vocabulary alone is 23.4 M of it, which is why multilingual models with 120k-250k
word pieces are so much larger at the same depth and width.

>>> spec = FAMILIES["BERT-base"]
>>> round(n_parameters(spec) / 1e6, 1)
109.5
>>> describe(spec)["position embeddings"]
'absolute, learned (512)'
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import (
    AutoModel,
    BertConfig,
    DebertaV2Config,
    DistilBertConfig,
    ElectraConfig,
    PretrainedConfig,
    RobertaConfig,
    XLMRobertaConfig,
)
from transformers.initialization import no_init_weights

from lessonlib.core.hub import resolve_model
from lessonlib.cross.flops import transformer_flops
from lessonlib.evaluation.cost import PeakMemory, cheapest_within

_CONFIGS = {"bert": BertConfig, "roberta": RobertaConfig, "distilbert": DistilBertConfig, "deberta-v2": DebertaV2Config,
            "electra": ElectraConfig, "xlm-roberta": XLMRobertaConfig}


@dataclass(frozen=True)
class Family:
    """One published encoder: its transformers config (type + sizes), tokenizer, paper and size.

    ``published_params``: the size the paper (or model card) states, in parameters; the tests check
    that :func:`n_parameters` of ``config`` lands within a few percent of it.
    """

    model_type: str
    sizes: Mapping[str, object]
    tokenizer: str
    published_params: float
    paper: str
    hub_id: str
    group: str = "general"  # general | compact | domain | multilingual
    notes: str = ""

    def config(self) -> PretrainedConfig:
        """The transformers configuration (``BertConfig`` ...) with the published sizes."""
        return _CONFIGS[self.model_type](**dict(self.sizes))


_BERT_BASE = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
              "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}

#: The families compared in notebooks 01 and 14 (sizes from the papers' tables / the official config.json).
FAMILIES: dict[str, Family] = {
    "BERT-base": Family("bert", _BERT_BASE, "WordPiece, uncased, 30,522", 110e6,
                        "Devlin et al. 2019, BERT (NAACL), §3: L=12, H=768, A=12, 110M", "google-bert/bert-base-uncased"),
    "BERT-large": Family("bert", {**_BERT_BASE, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                                  "intermediate_size": 4096},
                         "WordPiece, uncased, 30,522", 340e6, "Devlin et al. 2019, BERT, §3: L=24, H=1024, A=16, 340M",
                         "google-bert/bert-large-uncased"),
    "RoBERTa-base": Family("roberta", {**_BERT_BASE, "vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1,
                                       "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
                           "byte-level BPE, cased, 50,265", 125e6,
                           "Liu et al. 2019, RoBERTa (arXiv:1907.11692): BERT-base shapes, byte-level BPE; 125M (fairseq release)",
                           "FacebookAI/roberta-base", notes="same body as BERT-base; bigger vocabulary, no NSP, dynamic masking"),
    "DistilBERT": Family("distilbert", {"vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072,
                                        "max_position_embeddings": 512},
                         "WordPiece, uncased, 30,522", 66e6, "Sanh et al. 2019, DistilBERT, Table 3: 6 layers, 66M",
                         "distilbert/distilbert-base-uncased", group="compact",
                         notes="BERT-base with every other layer removed, distilled; no segment embeddings, no pooler"),
    "DeBERTa-v3-base": Family("deberta-v2", {"vocab_size": 128100, "hidden_size": 768, "num_hidden_layers": 12,
                                             "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512,
                                             "type_vocab_size": 0, "relative_attention": True, "position_buckets": 256,
                                             "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": ["p2c", "c2p"],
                                             "position_biased_input": False, "max_relative_positions": -1, "layer_norm_eps": 1e-7},
                              "SentencePiece, cased, 128,100", 184e6,
                              "He et al. 2023, DeBERTaV3 (ICLR); model card microsoft/deberta-v3-base: 86M backbone + 98M embeddings",
                              "microsoft/deberta-v3-base",
                              notes="disentangled attention: content and relative position scored separately; RTD pre-training"),
    "ELECTRA-base (discriminator)": Family("electra", {**_BERT_BASE, "embedding_size": 768},
                                           "WordPiece, uncased, 30,522", 110e6,
                                           "Clark et al. 2020, ELECTRA (ICLR): ELECTRA-Base = BERT-base sizes, 110M",
                                           "google/electra-base-discriminator",
                                           notes="BERT-base shapes; pre-trained as a replaced-token detector"),
    "MiniLM-L6 (all-MiniLM-L6-v2)": Family("bert", {**_BERT_BASE, "hidden_size": 384, "num_hidden_layers": 6, "intermediate_size": 1536},
                                           "WordPiece, uncased, 30,522", 22e6,
                                           "Wang et al. 2020, MiniLM (NeurIPS): L6xH384 release, 22M; all-MiniLM-L6-v2 = its sentence-transformers fine-tune",
                                           "sentence-transformers/all-MiniLM-L6-v2", group="compact"),
    "SciBERT": Family("bert", {**_BERT_BASE, "vocab_size": 31090}, "WordPiece SciVocab, uncased, 31,090", 110e6,
                      "Beltagy et al. 2019, SciBERT (EMNLP): BERT-base architecture, vocabulary built on 1.14M papers",
                      "allenai/scibert_scivocab_uncased", group="domain"),
    "BioBERT": Family("bert", {**_BERT_BASE, "vocab_size": 28996}, "WordPiece, cased, 28,996 (BERT's)", 110e6,
                      "Lee et al. 2020, BioBERT (Bioinformatics): BERT-base further pre-trained on PubMed + PMC",
                      "dmis-lab/biobert-base-cased-v1.1", group="domain"),
    "mBERT": Family("bert", {**_BERT_BASE, "vocab_size": 119547}, "WordPiece, cased, 119,547 (104 languages)", 172e6,
                    "Devlin et al. 2019 (multilingual release); size from Conneau et al. 2020, Table 7: 172M",
                    "google-bert/bert-base-multilingual-cased", group="multilingual"),
    "XLM-R-base": Family("xlm-roberta", {**_BERT_BASE, "vocab_size": 250002, "max_position_embeddings": 514, "type_vocab_size": 1,
                                         "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
                         "SentencePiece, cased, 250,002 (100 languages)", 270e6,
                         "Conneau et al. 2020, XLM-R (ACL), Table 7: base 270M", "FacebookAI/xlm-roberta-base",
                         group="multilingual"),
}


def _family(spec: Family | str) -> Family:
    if isinstance(spec, Family):
        return spec
    if spec not in FAMILIES:
        raise ValueError(f"family {spec!r}: expected one of {sorted(FAMILIES)}")
    return FAMILIES[spec]


def shape(config: PretrainedConfig) -> dict[str, int]:
    """Layers, hidden width, heads, feed-forward width, vocabulary of any family's config (DistilBERT's names differ)."""
    get = lambda *names: int(next(getattr(config, n) for n in names if getattr(config, n, None) is not None))
    return {"layers": get("num_hidden_layers", "n_layers"), "hidden": get("hidden_size", "dim"),
            "heads": get("num_attention_heads", "n_heads"), "intermediate": get("intermediate_size", "hidden_dim"),
            "vocab": get("vocab_size")}


def position_kind(config: PretrainedConfig) -> str:
    """How the family encodes positions, read from the config (absolute learned / sinusoidal / relative)."""
    if getattr(config, "relative_attention", False):
        kinds = "+".join(getattr(config, "pos_att_type", None) or [])
        buckets = getattr(config, "position_buckets", -1)
        absolute = ", plus absolute" if getattr(config, "position_biased_input", True) else ", no absolute"
        return f"relative, disentangled {kinds} ({buckets} buckets{absolute})"
    if getattr(config, "sinusoidal_pos_embds", False):
        return f"absolute, sinusoidal ({config.max_position_embeddings})"
    kind = getattr(config, "position_embedding_type", "absolute")
    return f"{kind}, learned ({config.max_position_embeddings})"


def build(spec: Family | str, device: str | torch.device = "cpu", seed: int = 0) -> torch.nn.Module:
    """The family's bare encoder (``AutoModel.from_config``) with RANDOM weights, in eval mode.

    Matrices ~ N(0, 0.02) (BERT's initialiser range), biases 0, LayerNorm scales 1, drawn from a generator
    seeded with ``seed`` (transformers' own per-module initialisation is skipped: it takes seconds and the
    values do not change the cost). ``device="meta"`` builds shapes only (no memory): enough to count parameters.
    """
    cfg = _family(spec).config()
    if str(device) == "meta":
        with torch.device("meta"):
            return AutoModel.from_config(cfg).eval()
    with no_init_weights():
        model = AutoModel.from_config(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.02, generator=g)
            else:
                p.fill_(0.0 if name.endswith("bias") else 1.0)
    return model.to(device).eval()


def n_parameters(spec: Family | str | torch.nn.Module) -> int:
    """Parameters of the bare encoder (embeddings + layers + pooler where the family has one), counted on a
    shape-only ("meta") model: no weights are allocated."""
    model = spec if isinstance(spec, torch.nn.Module) else build(spec, device="meta")
    return int(sum(p.numel() for p in model.parameters()))


def embedding_parameters(spec: Family | str) -> int:
    """Parameters of the token-embedding matrix alone: V x (embedding width)."""
    model = build(spec, device="meta")
    return int(model.get_input_embeddings().weight.numel())


def describe(spec: Family | str) -> dict[str, object]:
    """One row of the family table: shapes, positions, tokenizer, parameters (M), of which vocabulary (M),
    fp32 weight memory (MB), the published size and the paper."""
    fam = _family(spec)
    cfg = fam.config()
    n = n_parameters(fam)
    return {**shape(cfg), "position embeddings": position_kind(cfg), "tokenizer": fam.tokenizer,
            "params (M)": n / 1e6, "vocab params (M)": embedding_parameters(fam) / 1e6, "weights fp32 (MB)": 4 * n / 2**20,
            "published (M)": fam.published_params / 1e6, "group": fam.group, "paper": fam.paper}


def random_inputs(config: PretrainedConfig, batch_size: int, seq_len: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A batch of random token ids (ids 5.. vocab-1, special tokens avoided) and a full attention mask."""
    if batch_size < 1 or seq_len < 2:
        raise ValueError(f"random_inputs(batch_size={batch_size}, seq_len={seq_len}): need >= 1 and >= 2")
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, shape(config)["vocab"], (batch_size, seq_len), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def measure_cost(spec: Family | str, batch_size: int = 8, seq_len: int = 128, repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """Measured CPU cost of one forward pass of the family with random weights.

    Returns ``params (M)``, ``weights fp32 (MB)`` (exact: parameters x 4 bytes), ``GFLOP/batch`` (encoder
    layers, :func:`lessonlib.cross.flops.transformer_flops`), ``ms/batch`` (best of ``repeats`` after one
    warm-up, ``torch.inference_mode``) and ``forward peak (MB)`` (resident memory above the loaded weights
    during the forward pass, sampled by :class:`lessonlib.evaluation.cost.PeakMemory`: activations + workspace).
    Latency does not depend on the weights' values, so random weights give the real cost.
    """
    if repeats < 1:
        raise ValueError(f"measure_cost(repeats={repeats}): must be >= 1")
    fam = _family(spec)
    model = build(fam, seed=seed)
    cfg = model.config
    inputs = random_inputs(cfg, batch_size, seq_len, seed)
    s = shape(cfg)
    lin, quad = transformer_flops(seq_len, s["hidden"], s["intermediate"], s["layers"], batch_size)
    times = []
    with torch.inference_mode():
        model(**inputs)  # warm-up (allocator, kernels)
        with PeakMemory() as mem:
            model(**inputs)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(**inputs)
            times.append(time.perf_counter() - t0)
    n = n_parameters(model)
    del model
    return {"params (M)": n / 1e6, "weights fp32 (MB)": 4 * n / 2**20, "GFLOP/batch": (lin + quad) / 1e9,
            "ms/batch": 1000 * min(times), "forward peak (MB)": mem.peak_bytes / 2**20}


def local_checkpoints(names: Sequence[str] | None = None) -> dict[str, str]:
    """{family: local folder} for the families whose trained checkpoint is available OFFLINE (a local
    folder, the Hugging Face cache, or the bundled all-MiniLM-L6-v2 package; never downloads)."""
    found = {}
    for name in names or list(FAMILIES):
        try:
            found[name] = str(resolve_model(_family(name).hub_id))
        except FileNotFoundError:
            continue
    return found


def select_architecture(val_quality: Mapping[str, float], cost: Mapping[str, float], tolerance: float = 0.0,
                        budget: float | None = None) -> str:
    """Architecture search's choice rule, on VALIDATION figures only: among the candidates whose cost is
    within ``budget`` (all when None), the cheapest whose validation quality is at least the best minus
    ``tolerance`` (:func:`lessonlib.evaluation.cost.cheapest_within`; ``tolerance=0``: the best, ties to
    the cheaper). The search space is enumerated exhaustively (a grid; Zoph & Le 2017 and the NAS survey
    of Elsken et al. 2019 for the automatic versions of this loop)."""
    if set(val_quality) != set(cost) or not val_quality:
        raise ValueError(f"select_architecture: val_quality and cost need the same non-empty keys, got "
                         f"{sorted(val_quality)} and {sorted(cost)}")
    names = [n for n in val_quality if budget is None or cost[n] <= budget]
    if not names:
        raise ValueError(f"select_architecture(budget={budget}): no candidate costs that little (cheapest {min(cost.values()):.4g})")
    i = cheapest_within(np.array([val_quality[n] for n in names]), np.array([cost[n] for n in names]), tolerance)
    return names[i]
