"""Two-tower recommendation on a simulated interaction log with known ground truth (lecture §4.2).

The simulator (``simulate``) draws users with latent preferences over item topics, items with a
topic, a domain and a popularity, item descriptions written from topic vocabulary, and sessions of
consecutive clicks. Because the generator is known, every figure can be checked against the truth
(``oracle_scores``: the probability the generator itself gives each item).

The model (Covington et al. 2016; Yi et al. 2019, "Sampling-bias-corrected neural modeling"):

- item tower  v_i = MLP(ID embedding_i + mean word embedding of the item's text), L2-normalised;
  text-only (``use_ids=False``) gives embeddings to items never seen in training (cold start);
- user tower  u = MLP(encoder(v of the recent items)), encoder = mean or GRU (Hidasi et al. 2016);
- score       s(u, i) = u . v_i / tau, trained with in-batch softmax (InfoNCE):
  L = -1/B sum_b log( exp(s(u_b, i_b)) / sum_c exp(s(u_b, i_c)) ), optionally with the logQ
  correction s - log p(i) for popular items appearing more often as in-batch negatives.

>>> log = simulate(seed=0)
>>> train, test = next_item_cases(log)
>>> model = TwoTower(log, encoder="gru")
>>> fit_recommender(model, train, epochs=5, seed=0)
>>> evaluate_recommendations(model.score(test.history), test.target, k=10)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.trainer import fit_shuffled

# Topic vocabulary: words used by both domains, then words only books use, then words only films use.
TOPICS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "space": (["rocket", "galaxy", "astronaut", "orbit", "planet", "star"], ["chapter", "saga"], ["effects", "launch"]),
    "cooking": (["recipe", "kitchen", "chef", "bread", "spice", "feast"], ["cookbook", "pages"], ["competition", "host"]),
    "history": (["empire", "war", "king", "ancient", "revolution", "castle"], ["biography", "archive"], ["epic", "costume"]),
    "sport": (["football", "team", "coach", "match", "champion", "training"], ["memoir", "season"], ["stadium", "comeback"]),
    "music": (["band", "guitar", "song", "concert", "tour", "album"], ["lyrics", "diary"], ["documentary", "stage"]),
    "nature": (["forest", "wildlife", "ocean", "mountain", "river", "bird"], ["field", "guide"], ["camera", "footage"]),
    "crime": (["detective", "murder", "police", "heist", "clue", "suspect"], ["mystery", "novel"], ["thriller", "chase"]),
    "tech": (["robot", "computer", "code", "startup", "network", "machine"], ["manual", "essay"], ["hacker", "screen"]),
}
DOMAINS = ("book", "film")
_NOISE = ["story", "new", "classic", "family", "great", "little", "journey", "life", "world", "secret"]


@dataclass
class InteractionLog:
    """A simulated log. Arrays are indexed by user or item id (0..n-1).

    item_topic (n_items,), item_domain (n_items,), item_pop (n_items,) popularity weights,
    item_text list[str], user_pref (n_users, n_topics) Dirichlet preferences,
    sessions list of (user, domain, list of item ids), cold (n_items,) bool: never in training.
    """

    item_topic: np.ndarray
    item_domain: np.ndarray
    item_pop: np.ndarray
    item_text: list[str]
    user_pref: np.ndarray
    sessions: list[tuple[int, int, list[int]]]
    cold: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_topic)

    @property
    def n_users(self) -> int:
        return len(self.user_pref)


def simulate(
    n_users: int = 1000,
    n_items_per_domain: int = 300,
    sessions_per_user: int = 5,
    session_len: int = 8,
    alpha: float = 0.3,
    drift: float = 0.15,
    pop_sigma: float = 1.0,
    cold_fraction: float = 0.1,
    seed: int = 0,
) -> InteractionLog:
    """Draw an interaction log with known ground truth.

    Generator (all draws from ``numpy.random.default_rng(seed)``):
      user u: preference theta_u ~ Dirichlet(alpha) over the 8 topics, shared by both domains;
      item i: topic uniform, domain by halves, popularity w_i ~ LogNormal(0, pop_sigma), text =
      "a {domain} about" + 4 words of its topic (shared or domain-specific) + 1 noise word;
      session: a domain (uniform), an intent topic z ~ theta_u; each click picks, with probability
      ``drift``, a new z ~ theta_u, then an item of topic z and that domain with probability
      proportional to w_i (no repeats within a session).
    ``cold_fraction`` of items are marked cold: the train cases never contain them.
    """
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    n_topics = len(topics)
    n_items = n_items_per_domain * len(DOMAINS)
    item_domain = np.repeat(np.arange(len(DOMAINS)), n_items_per_domain)
    item_topic = rng.integers(0, n_topics, n_items)
    item_pop = rng.lognormal(0.0, pop_sigma, n_items)
    texts = []
    for i in range(n_items):
        shared, book, film = TOPICS[topics[item_topic[i]]]
        pool = shared + (book if item_domain[i] == 0 else film)
        words = list(rng.choice(pool, 4, replace=False)) + [str(rng.choice(_NOISE))]
        rng.shuffle(words)
        texts.append(f"a {DOMAINS[item_domain[i]]} about " + " ".join(words))
    user_pref = rng.dirichlet(np.full(n_topics, alpha), n_users)
    by_td = {(t, d): np.flatnonzero((item_topic == t) & (item_domain == d)) for t in range(n_topics) for d in range(len(DOMAINS))}
    sessions = []
    for u in range(n_users):
        for _ in range(sessions_per_user):
            d = int(rng.integers(len(DOMAINS)))
            z = rng.choice(n_topics, p=user_pref[u])
            items: list[int] = []
            for _ in range(session_len):
                if rng.random() < drift:
                    z = rng.choice(n_topics, p=user_pref[u])
                cand = np.array([i for i in by_td[(z, d)] if i not in items])
                if len(cand) == 0:
                    continue
                w = item_pop[cand] / item_pop[cand].sum()
                items.append(int(rng.choice(cand, p=w)))
            sessions.append((u, d, items))
    cold = np.zeros(n_items, dtype=bool)
    cold[rng.choice(n_items, int(round(cold_fraction * n_items)), replace=False)] = True
    params = dict(n_users=n_users, n_items_per_domain=n_items_per_domain, sessions_per_user=sessions_per_user,
                  session_len=session_len, alpha=alpha, drift=drift, pop_sigma=pop_sigma, cold_fraction=cold_fraction, seed=seed)
    return InteractionLog(item_topic, item_domain, item_pop, texts, user_pref, sessions, cold, params)


@dataclass
class Cases:
    """Next-item prediction cases: ``history`` (n, max_history) item ids, -1 = padding on the left,
    ``target`` (n,), ``user`` (n,), ``domain`` (n,) of the target."""

    history: np.ndarray
    target: np.ndarray
    user: np.ndarray
    domain: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    def where(self, mask: np.ndarray) -> Cases:
        """The cases where ``mask`` is true."""
        return Cases(self.history[mask], self.target[mask], self.user[mask], self.domain[mask])


def next_item_cases(log: InteractionLog, max_history: int = 10, domains: tuple[int, ...] | None = None) -> tuple[Cases, Cases]:
    """(train, test): each click with the user's previous clicks as history.

    Test = the last click of each user's last session (of a domain in ``domains``); train = every
    click of the earlier sessions. Cold items are removed from train histories and targets.
    """
    timeline: dict[int, list[tuple[int, int]]] = {}
    train_rows, test_rows = [], []
    last_session = {u: k for k, (u, _, _) in enumerate(log.sessions)}
    for k, (u, d, items) in enumerate(log.sessions):
        past = timeline.setdefault(u, [])
        for pos, item in enumerate(items):
            if pos == 0:
                past.append((item, d))
                continue
            is_test = k == last_session[u] and pos == len(items) - 1
            hist = [i for i, _ in past]
            if is_test:
                test_rows.append((hist, item, u, d))
            elif k != last_session[u]:
                if not log.cold[item]:
                    train_rows.append(([i for i in hist if not log.cold[i]], item, u, d))
            past.append((item, d))

    def pack(rows):
        if domains is not None:
            rows = [r for r in rows if r[3] in domains]
        hist = np.full((len(rows), max_history), -1, dtype=np.int64)
        for r, (h, *_rest) in enumerate(rows):
            h = h[-max_history:]
            if h:
                hist[r, -len(h):] = h
        return Cases(hist, np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows], dtype=np.int64),
                     np.array([r[3] for r in rows], dtype=np.int64))

    return pack(train_rows), pack(test_rows)


def tokenize_items(texts: list[str], max_len: int = 12) -> tuple[np.ndarray, dict[str, int]]:
    """Word ids (n_items, max_len), 0 = padding, and the vocabulary (word -> id >= 1)."""
    vocab: dict[str, int] = {}
    rows = []
    for t in texts:
        ids = [vocab.setdefault(w, len(vocab) + 1) for w in re.findall(r"[a-z0-9]+", t.lower())][:max_len]
        rows.append(ids + [0] * (max_len - len(ids)))
    return np.array(rows, dtype=np.int64), vocab


class ItemTower(nn.Module):
    """v_i = normalize(MLP(id_emb[i] + mean(word_emb[text_i]))); either part can be switched off."""

    def __init__(self, n_items: int, item_tokens: np.ndarray, vocab_size: int, dim: int = 32,
                 use_ids: bool = True, use_text: bool = True):
        super().__init__()
        if not (use_ids or use_text):
            raise ValueError("ItemTower(use_ids=False, use_text=False): the tower needs ids or text")
        self.use_ids, self.use_text = use_ids, use_text
        self.id_emb = nn.Embedding(n_items, dim) if use_ids else None
        if self.id_emb is not None:
            nn.init.normal_(self.id_emb.weight, std=0.1)
        self.word_emb = nn.Embedding(vocab_size + 1, dim, padding_idx=0) if use_text else None
        self.register_buffer("tokens", torch.as_tensor(item_tokens))
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        h = 0
        if self.id_emb is not None:
            h = h + self.id_emb(items)
        if self.word_emb is not None:
            tok = self.tokens[items]  # (..., L)
            mask = (tok > 0).unsqueeze(-1).float()
            h = h + (self.word_emb(tok) * mask).sum(-2) / mask.sum(-2).clamp(min=1)
        return F.normalize(self.mlp(h), dim=-1)


class UserTower(nn.Module):
    """u = normalize(MLP(encoder(item vectors of the recent history))), encoder "mean" or "gru"."""

    def __init__(self, dim: int = 32, encoder: str = "mean"):
        super().__init__()
        if encoder not in {"mean", "gru"}:
            raise ValueError(f"UserTower(encoder={encoder!r}): encoder must be 'mean' or 'gru'")
        self.encoder = encoder
        self.gru = nn.GRU(dim, dim, batch_first=True) if encoder == "gru" else None
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, hist_vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hist_vecs (B, L, d), mask (B, L) true for real items (left-padded) -> (B, d)."""
        m = mask.unsqueeze(-1).float()
        if self.gru is None:
            h = (hist_vecs * m).sum(1) / m.sum(1).clamp(min=1)
        else:
            lengths = mask.sum(1).clamp(min=1).cpu()
            # right-align -> left-align so packing sees the real items first
            order = torch.argsort((~mask).int(), dim=1, stable=True)
            x = torch.gather(hist_vecs * m, 1, order.unsqueeze(-1).expand_as(hist_vecs))
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h = self.gru(packed)
            h = h[-1]
        return F.normalize(self.mlp(h), dim=-1)


class TwoTower(nn.Module):
    """User tower over the session history + item tower over ids and text; score = u . v / tau."""

    def __init__(self, log: InteractionLog, dim: int = 32, encoder: str = "mean", use_ids: bool = True,
                 use_text: bool = True, temperature: float = 0.1, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        tokens, vocab = tokenize_items(log.item_text)
        self.item_tower = ItemTower(log.n_items, tokens, len(vocab), dim, use_ids, use_text)
        self.user_tower = UserTower(dim, encoder)
        self.temperature = temperature

    def users(self, history: torch.Tensor) -> torch.Tensor:
        mask = history >= 0
        vecs = self.item_tower(history.clamp(min=0))
        return self.user_tower(vecs, mask)

    def items(self, items: torch.Tensor | None = None) -> torch.Tensor:
        if items is None:
            items = torch.arange(self.item_tower.tokens.shape[0])
        return self.item_tower(items)

    @torch.no_grad()
    def score(self, history: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Scores (n_cases, n_items) of every item for each history."""
        self.eval()
        v = self.items()
        out = [self.users(torch.as_tensor(history[s : s + batch_size])) @ v.T for s in range(0, len(history), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, v.shape[0]), dtype=np.float32)


def in_batch_softmax_loss(u: torch.Tensor, v: torch.Tensor, targets: torch.Tensor, temperature: float,
                          log_q: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE with the other targets of the batch as negatives.

    logits = u v^T / tau (B, B); the same item appearing twice in a batch is not used as its own
    negative (masked); with ``log_q`` (B,) the logQ correction logits[:, c] -= log q_c is applied.
    """
    logits = u @ v.T / temperature
    if log_q is not None:
        logits = logits - log_q.unsqueeze(0)
    same = targets.unsqueeze(0) == targets.unsqueeze(1)
    eye = torch.eye(len(targets), dtype=torch.bool, device=u.device)
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    return F.cross_entropy(logits, torch.arange(len(targets), device=u.device))


def fit_recommender(model: TwoTower, train: Cases, epochs: int = 5, batch_size: int = 256, lr: float = 3e-3,
        log_q_correction: bool = False, seed: int = 0, progress: bool = False) -> list[float]:
    """Train with in-batch softmax; returns the mean loss of each epoch.

    The loop is :func:`lessonlib.core.trainer.fit_shuffled`; each batch's loss is
    :func:`in_batch_softmax_loss` (with the logQ correction when ``log_q_correction``).
    """
    if len(train) == 0:
        raise ValueError("fit_recommender(train): no training cases")
    hist = torch.as_tensor(train.history)
    tgt = torch.as_tensor(train.target)
    counts = torch.bincount(tgt, minlength=model.item_tower.tokens.shape[0]).float()
    log_q = torch.log((counts + 1) / (counts + 1).sum())

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        u = model.users(hist[idx])
        v = model.items(tgt[idx])
        return in_batch_softmax_loss(u, v, tgt[idx], model.temperature, log_q[tgt[idx]] if log_q_correction else None)

    return fit_shuffled(model, len(tgt), batch_loss, epochs, batch_size, lr, seed=seed, progress=progress,
                        desc="two-tower epochs")


# ------------------------------------------------------------------------------ baselines, truth, metrics
def popularity_scores(train: Cases, n_items: int, n_cases: int) -> np.ndarray:
    """Every case scores items by their click count in ``train`` (n_cases, n_items)."""
    counts = np.bincount(train.target, minlength=n_items).astype(np.float32)
    return np.tile(counts, (n_cases, 1))


def random_scores(n_cases: int, n_items: int, seed: int = 0) -> np.ndarray:
    """Uniform random scores (n_cases, n_items)."""
    return np.random.default_rng(seed).random((n_cases, n_items)).astype(np.float32)


def oracle_scores(log: InteractionLog, cases: Cases, session: bool = True) -> np.ndarray:
    """The generator's own next-click probability for each case (n, n_items).

    P(i) = P(topic z_i) * w_i / W(z_i, d) for items of the case's domain d, where W sums the
    popularity of that topic's items in d. With ``session=True``, P(z) = (1 - drift) * [z = topic of
    the last clicked item] + drift * theta_u[z] (the session's current intent, as generated);
    otherwise P(z) = theta_u[z] (long-term taste only). No model can beat the session oracle in
    expectation; exclusion of already-clicked items is left to ``evaluate_recommendations``.
    """
    n_topics = log.user_pref.shape[1]
    W = np.zeros((n_topics, int(log.item_domain.max()) + 1))
    np.add.at(W, (log.item_topic, log.item_domain), log.item_pop)
    pz = log.user_pref[cases.user].copy()  # (n, n_topics)
    if session:
        drift = float(log.params.get("drift", 0.15))
        last = cases.history[:, -1]
        pz *= drift
        has = last >= 0
        pz[np.flatnonzero(has), log.item_topic[last[has]]] += 1 - drift
    s = pz[:, log.item_topic] * (log.item_pop / W[log.item_topic, log.item_domain])[None, :]
    s[log.item_domain[None, :] != cases.domain[:, None]] = 0.0
    return s.astype(np.float32)


def evaluate_recommendations(scores: np.ndarray, target: np.ndarray, k: int = 10, candidates: np.ndarray | None = None,
             exclude: np.ndarray | None = None, per_case: bool = False) -> dict[str, float] | dict[str, np.ndarray]:
    """recall@k (= hit rate, one relevant item per case) and nDCG@k = 1/log2(rank + 1) if rank <= k,
    with ties broken at random (the expectation is returned, so constant scores score like random).

    ``candidates`` (n_items,) or (n, n_items) bool restricts ranking to those items; ``exclude`` (n, L) item ids
    (e.g. the history, -1 ignored) are removed from each case's ranking. ``per_case=True`` returns one value per
    case (arrays of length n, in the order of ``target``) instead of the means: the paired arrays that
    :func:`lessonlib.evaluation.significance.compare_paired` takes to compare two recommenders on the same cases.

    >>> s = np.array([[0.9, 0.1, 0.0], [0.0, 0.1, 0.9]])
    >>> evaluate_recommendations(s, np.array([0, 0]), k=1, per_case=True)["recall@1"].tolist()
    [1.0, 0.0]
    """
    if k < 1:
        raise ValueError(f"evaluate_recommendations(k={k}): k must be >= 1")
    s = np.array(scores, dtype=np.float64, copy=True)
    if candidates is not None:
        s[~np.broadcast_to(np.asarray(candidates, dtype=bool), s.shape)] = -np.inf
    if exclude is not None:
        rows = np.repeat(np.arange(len(s)), exclude.shape[1])
        cols = exclude.ravel()
        keep = cols >= 0
        s[rows[keep], cols[keep]] = -np.inf
    t = s[np.arange(len(s)), target]
    greater = (s > t[:, None]).sum(1)
    ties = (s == t[:, None]).sum(1) - 1  # other items with exactly the target's score
    # Ties are broken at random: average over the target's equally likely positions.
    recall, ndcg = np.zeros(len(s)), np.zeros(len(s))
    for r, (g, n) in enumerate(zip(greater, ties)):
        if not np.isfinite(t[r]):
            continue  # target excluded or not a candidate: a miss
        ranks = np.arange(g + 1, g + n + 2)
        inside = ranks[ranks <= k]
        recall[r] = len(inside) / len(ranks)
        ndcg[r] = (1.0 / np.log2(inside + 1)).sum() / len(ranks)
    if per_case:
        return {f"recall@{k}": recall, f"ndcg@{k}": ndcg}
    return {f"recall@{k}": float(recall.mean()), f"ndcg@{k}": float(ndcg.mean())}


def domain_mask(log: InteractionLog, domain: int | np.ndarray) -> np.ndarray:
    """Items of one domain (0 = books, 1 = films) as a bool mask (n_items,); for an array of
    domains (n,), one row per case (n, n_items)."""
    domain = np.asarray(domain)
    if domain.ndim == 0:
        return log.item_domain == domain
    return log.item_domain[None, :] == domain[:, None]


def entropy_bits(p: np.ndarray) -> float:
    """Mean entropy of preference rows in bits (how focused users are)."""
    p = np.clip(p, 1e-12, 1)
    return float(-(p * np.log2(p)).sum(1).mean())


__all__ = ["simulate", "InteractionLog", "Cases", "next_item_cases", "ItemTower", "UserTower", "TwoTower",
           "in_batch_softmax_loss", "fit_recommender", "popularity_scores", "random_scores", "oracle_scores", "evaluate_recommendations",
           "domain_mask", "tokenize_items", "TOPICS", "DOMAINS", "entropy_bits"]
