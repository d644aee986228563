"""A CLIP-style text-image dual encoder, small enough to train on a CPU in seconds (lecture §4.3).

Images: scikit-learn's handwritten digits (8x8 grey levels, 1,797 images; ``load_digits``).
Captions are generated from the labels with varied templates ("a handwritten seven", "the digit 7",
...), so words and numerals must both be learnt. Two towers map each modality into one space:

    image tower  x (64 pixels) -> MLP -> normalised z_img (d,)
    text tower   words -> mean word embedding -> MLP -> normalised z_txt (d,)

trained with CLIP's symmetric InfoNCE (Radford et al. 2021, after van den Oord et al. 2018)::

    logits = exp(t) * Z_img @ Z_txt^T            (B, B), t a learnt log-temperature
    L = ( CE(logits, arange(B)) + CE(logits^T, arange(B)) ) / 2

Pairs in a batch with the same label are not used as negatives of each other (they are true
matches). Zero-shot classification embeds one prompt per class ("a photo of the number {word}")
and gives each image the class of its nearest prompt.

>>> data = load_digit_pairs(seed=0)
>>> model = TextImageDualEncoder(vocab=data.vocab)
>>> fit_text_image(model, data, epochs=30, seed=0)
>>> zero_shot_accuracy(model, data.test_images, data.test_labels, PROMPT)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core.trainer import fit_shuffled

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Training templates: {w} = number word, {d} = numeral.
TEMPLATES = [
    "a handwritten {w}",
    "the digit {d}",
    "a scanned image of the number {w}",
    "number {d} written by hand",
    "a {w} drawn with a pen",
    "the numeral {d}",
    "a small picture of a {w}",
    "someone wrote a {d}",
]
# Held out: never seen in training, used for zero-shot prompts and unseen-caption retrieval.
HELD_OUT_TEMPLATES = ["a photo of the number {w}", "an image showing the digit {d}"]
PROMPT = HELD_OUT_TEMPLATES[0]


def caption(label: int, template: str) -> str:
    """The caption of digit ``label`` in ``template``."""
    return template.format(w=WORDS[label], d=label)


def tokenize(texts: list[str], vocab: dict[str, int], max_len: int = 10) -> torch.Tensor:
    """Word ids (n, max_len); 0 = padding, 1 = unknown word."""
    out = torch.zeros(len(texts), max_len, dtype=torch.long)
    for r, t in enumerate(texts):
        ids = [vocab.get(w, 1) for w in re.findall(r"[a-z0-9]+", t.lower())][:max_len]
        out[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def build_vocab(templates: list[str]) -> dict[str, int]:
    """Vocabulary of every word the templates can produce (ids from 2; 0 pad, 1 unknown)."""
    words = sorted({w for t in templates for lab in range(10) for w in re.findall(r"[a-z0-9]+", caption(lab, t).lower())})
    return {w: i + 2 for i, w in enumerate(words)}


@dataclass
class DigitPairs:
    """Train/test split of the digits: images (n, 64) float32 in [0, 1], labels (n,), and the vocabulary
    (built from training templates and held-out ones, so prompts' words are known tokens)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    vocab: dict[str, int]


def load_digit_pairs(test_size: float = 0.3, seed: int = 0, n_train: int | None = None) -> DigitPairs:
    """scikit-learn's digits, split stratified by label (``seed``); ``n_train`` caps the training set."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    if n_train is not None:
        xtr, ytr = xtr[:n_train], ytr[:n_train]
    return DigitPairs(xtr, ytr, xte, yte, build_vocab(TEMPLATES + HELD_OUT_TEMPLATES))


class ImageTower(nn.Module):
    """64 pixels -> MLP -> normalised (d,)."""

    def __init__(self, dim: int = 32, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)


class TextTower(nn.Module):
    """Mean of word embeddings -> MLP -> normalised (d,)."""

    def __init__(self, vocab_size: int, dim: int = 32, hidden: int = 64):
        super().__init__()
        self.emb = nn.Embedding(vocab_size + 2, hidden, padding_idx=0)
        self.net = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens > 0).unsqueeze(-1).float()
        h = (self.emb(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(self.net(h), dim=-1)


class TextImageDualEncoder(nn.Module):
    """Image tower + text tower + learnt temperature, as in CLIP (Radford et al. 2021)."""

    def __init__(self, vocab: dict[str, int], dim: int = 32, init_temperature: float = 0.07, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.vocab = dict(vocab)
        self.image = ImageTower(dim)
        self.text = TextTower(len(vocab), dim)
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(1.0 / init_temperature))))

    @torch.no_grad()
    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """(n, 64) -> (n, d) float32, unit length."""
        self.eval()
        return self.image(torch.as_tensor(images, dtype=torch.float32)).numpy()

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """list of n captions -> (n, d) float32, unit length."""
        self.eval()
        return self.text(tokenize(texts, self.vocab)).numpy()


def clip_loss(z_img: torch.Tensor, z_txt: torch.Tensor, log_scale: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of B aligned pairs (B, d) x (B, d).

    With ``labels``, off-diagonal pairs sharing a label are masked out (they are not negatives).
    """
    logits = log_scale.exp().clamp(max=100) * z_img @ z_txt.T
    if labels is not None:
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        eye = torch.eye(len(labels), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(same & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def corrupt_labels(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """ALIGN-style noisy pairs: the labels a caption will name, with ``fraction`` of them wrong.

    A seeded ``round(fraction * n)`` of the pairs get a label drawn uniformly from the *other* nine
    digits; returns ``(caption_labels, corrupted)`` with ``corrupted`` a boolean mask (n,).
    ALIGN (Jia et al. 2021) trains on 1.8B alt-text pairs with no cleaning beyond simple filters;
    this is the knob that says how much of such noise a contrastive model tolerates (notebook 10).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"corrupt_labels(fraction={fraction}): fraction must be in [0, 1]")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    corrupted = np.zeros(len(labels), dtype=bool)
    corrupted[rng.choice(len(labels), round(fraction * len(labels)), replace=False)] = True
    out = labels.copy()
    out[corrupted] = (labels[corrupted] + rng.integers(1, 10, corrupted.sum())) % 10  # never the true digit
    return out, corrupted


def fit_text_image(model: TextImageDualEncoder, data: DigitPairs, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3,
        mask_same_label: bool = True, seed: int = 0, progress: bool = False, noise: float = 0.0) -> list[float]:
    """Train on (image, random training-template caption) pairs; returns the mean loss per epoch.

    Each epoch draws a fresh training-template caption for every image, then runs
    :func:`lessonlib.core.trainer.fit_shuffled` with :func:`clip_loss` (labels masked when ``mask_same_label``).
    ``noise`` > 0 pairs that share of the images, fixed for the whole run, with a caption of a wrong
    digit (:func:`corrupt_labels`, seed ``seed``), as in noisy web alt-text (ALIGN, Jia et al. 2021);
    the mask then uses the digit the caption names, the only label a web crawl would have.
    """
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(data.train_images)
    cap_labels = corrupt_labels(data.train_labels, noise, seed)[0] if noise > 0 else np.asarray(data.train_labels)
    y = torch.as_tensor(cap_labels)
    tok = None

    def draw_captions() -> None:
        nonlocal tok
        caps = [caption(int(lab), TEMPLATES[rng.integers(len(TEMPLATES))]) for lab in cap_labels]
        tok = tokenize(caps, model.vocab)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        return clip_loss(model.image(x[idx]), model.text(tok[idx]), model.log_scale, y[idx] if mask_same_label else None)

    return fit_shuffled(model, len(y), batch_loss, epochs, batch_size, lr, seed=seed, progress=progress,
                        desc="CLIP epochs", start_epoch=draw_captions)


# ------------------------------------------------------------------------------------ evaluation
def retrieval_metrics(query_emb: np.ndarray, query_labels: np.ndarray, cand_emb: np.ndarray, cand_labels: np.ndarray,
                      ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Cosine retrieval where a candidate is relevant iff it has the query's label.

    recall@k here is success@k (at least one relevant candidate in the top k, the figure CLIP
    papers report); mAP is the mean over queries of average precision over the full ranking.
    """
    scores = query_emb @ cand_emb.T
    order = np.argsort(-scores, axis=1, kind="stable")
    rel = cand_labels[order] == query_labels[:, None]  # (nq, nc)
    out = {f"recall@{k}": float(rel[:, :k].any(1).mean()) for k in ks}
    hits = np.cumsum(rel, axis=1)
    prec = hits / np.arange(1, rel.shape[1] + 1)
    ap = (prec * rel).sum(1) / np.maximum(rel.sum(1), 1)
    out["mAP"] = float(ap.mean())
    return out


def text_to_image(model: TextImageDualEncoder, data: DigitPairs, templates: list[str]) -> dict[str, float]:
    """Each caption (10 digits x templates) retrieves test images; relevant = same digit."""
    labels = np.array([lab for t in templates for lab in range(10)])
    caps = [caption(lab, t) for t in templates for lab in range(10)]
    return retrieval_metrics(model.encode_texts(caps), labels, model.encode_images(data.test_images), data.test_labels)


def image_to_text(model: TextImageDualEncoder, data: DigitPairs, templates: list[str]) -> dict[str, float]:
    """Each test image retrieves from the pool of captions (10 digits x templates); relevant = same digit."""
    labels = np.array([lab for t in templates for lab in range(10)])
    caps = [caption(lab, t) for t in templates for lab in range(10)]
    return retrieval_metrics(model.encode_images(data.test_images), data.test_labels, model.encode_texts(caps), labels)


def zero_shot_predict(model: TextImageDualEncoder, images: np.ndarray, template: str = PROMPT) -> np.ndarray:
    """Class of the nearest prompt ``template`` filled with each digit, for each image (n,)."""
    prompts = model.encode_texts([caption(lab, template) for lab in range(10)])
    return np.argmax(model.encode_images(images) @ prompts.T, axis=1)


def zero_shot_accuracy(model: TextImageDualEncoder, images: np.ndarray, labels: np.ndarray, template: str = PROMPT) -> float:
    """Share of images whose nearest prompt names their digit."""
    return float((zero_shot_predict(model, images, template) == labels).mean())


def plot_text_to_image(model: TextImageDualEncoder, data: DigitPairs, queries: list[str], k: int = 6):
    """A grid: one row per text query, its top-k test images (title = query)."""
    import matplotlib.pyplot as plt

    q = model.encode_texts(queries)
    img = model.encode_images(data.test_images)
    top = np.argsort(-(q @ img.T), axis=1)[:, :k]
    fig, axes = plt.subplots(len(queries), k, figsize=(1.2 * k, 1.35 * len(queries)), squeeze=False)
    for r, query in enumerate(queries):
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(data.test_images[top[r, c]].reshape(8, 8), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(query, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"Text -> image retrieval: top {k} test images per caption")
    fig.tight_layout()
    return fig


def plot_joint_space(model: TextImageDualEncoder, data: DigitPairs, template: str = PROMPT, n_images: int = 400, seed: int = 0):
    """2-D PCA of image embeddings (dots, coloured by digit) and the 10 prompt embeddings (numbers)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data.test_labels), min(n_images, len(data.test_labels)), replace=False)
    img = model.encode_images(data.test_images[pick])
    txt = model.encode_texts([caption(lab, template) for lab in range(10)])
    both = np.vstack([img, txt])
    mean = both.mean(0)
    _, _, vt = np.linalg.svd(both - mean, full_matrices=False)
    p_img, p_txt = (img - mean) @ vt[:2].T, (txt - mean) @ vt[:2].T
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(p_img[:, 0], p_img[:, 1], c=data.test_labels[pick], cmap="tab10", s=10, alpha=0.6)
    for lab in range(10):
        ax.text(p_txt[lab, 0], p_txt[lab, 1], str(lab), fontsize=14, weight="bold", ha="center", va="center",
                bbox={"boxstyle": "circle", "fc": "white", "ec": plt.cm.tab10(lab / 9)})
    fig.colorbar(sc, ax=ax, label="digit of the image")
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(f"Joint space: test images (dots) and prompts '{template}' (circles)")
    return fig


# ------------------------------------------------------------------ VQA as retrieval over answers
# Visual question answering (Antol et al. 2015) as retrieval: a fused (image, question) query vector
# ranks a fixed set of candidate answers, each embedded by an answer tower. The question decides
# *which* property of the image is asked about, so the image alone cannot answer and the question
# alone can only guess from answer priors (the language bias of Goyal et al. 2017).
QUESTIONS = {
    "what digit is this": lambda d: WORDS[d],
    "is the number even or odd": lambda d: "even" if d % 2 == 0 else "odd",
    "is it bigger than four": lambda d: "yes" if d > 4 else "no",
    "what number comes after it": lambda d: WORDS[(d + 1) % 10],
}
ANSWERS = WORDS + ["even", "odd", "yes", "no"]


def vqa_examples(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Every (image, question) pair with its gold answer: images (n*q, 64), questions, answer ids into ANSWERS."""
    qs = list(QUESTIONS)
    imgs = np.repeat(np.asarray(images, dtype=np.float32), len(qs), axis=0)
    questions = [q for _ in labels for q in qs]
    answers = np.array([ANSWERS.index(QUESTIONS[q](int(d))) for d in labels for q in qs])
    return imgs, questions, answers


class VQARetriever(nn.Module):
    """Fused query tower over (image, question) + answer tower; score = scale * <q(img, question), a(answer)>.

    query = normalise(MLP([z_img, z_q, z_img * z_q]))  (the element-wise product is Antol et al.'s fusion);
    ``use_image=False`` / ``use_question=False`` zero that input: the question-only and image-only baselines.
    """

    def __init__(self, dim: int = 32, use_image: bool = True, use_question: bool = True, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.vocab = build_vocab([q for q in QUESTIONS] + ANSWERS)
        self.use_image, self.use_question = use_image, use_question
        self.image, self.question, self.answer = ImageTower(dim), TextTower(len(self.vocab), dim), TextTower(len(self.vocab), dim)
        self.fuse = nn.Sequential(nn.Linear(3 * dim, 64), nn.ReLU(), nn.Linear(64, dim))
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(10.0))))

    def query(self, images: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        zi, zq = self.image(images), self.question(questions)
        zi, zq = zi * float(self.use_image), zq * float(self.use_question)
        return F.normalize(self.fuse(torch.cat([zi, zq, zi * zq], dim=-1)), dim=-1)

    def answers(self) -> torch.Tensor:
        return self.answer(tokenize(ANSWERS, self.vocab))

    @torch.no_grad()
    def predict(self, images: np.ndarray, questions: list[str]) -> np.ndarray:
        """Index into ANSWERS of the best-scoring answer for each (image, question)."""
        self.eval()
        q = self.query(torch.as_tensor(images, dtype=torch.float32), tokenize(questions, self.vocab))
        return (q @ self.answers().T).argmax(1).numpy()


def fit_vqa(model: VQARetriever, images: np.ndarray, labels: np.ndarray, epochs: int = 10, batch_size: int = 64,
            lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Train with softmax cross-entropy over *all* candidate answers (the answer set is the corpus):
    L = CE(scale * q @ A^T, gold answer). Returns the mean loss per epoch (:func:`fit_shuffled`)."""
    imgs, questions, gold = vqa_examples(images, labels)
    x, tok, y = torch.as_tensor(imgs), tokenize(questions, model.vocab), torch.as_tensor(gold)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        logits = model.log_scale.exp().clamp(max=100) * model.query(x[idx], tok[idx]) @ model.answers().T
        return F.cross_entropy(logits, y[idx])

    return fit_shuffled(model, len(y), batch_loss, epochs, batch_size, lr, seed=seed, desc="VQA epochs")


def vqa_accuracy(model: VQARetriever, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy per question type and overall ("all") on every (image, question) pair of the images."""
    imgs, questions, gold = vqa_examples(images, labels)
    right = model.predict(imgs, questions) == gold
    out = {q: float(right[[i for i, x in enumerate(questions) if x == q]].mean()) for q in QUESTIONS}
    out["all"] = float(right.mean())
    return out


# ------------------------------------------------------ DALL-E's CLIP re-ranking, on a tiny generator
class ConditionalPixelSampler:
    """A deliberately tiny text-to-image *sampler*, to measure DALL-E's re-ranking step (not DALL-E).

    mean(caption) = ridge regression from the CLIP text vector of the caption to the 64 pixels;
    a sample = mean(caption) + temperature * the residual (image - mean of its own caption) of a random
    training image, clipped to [0, 1]. DALL-E (Ramesh et al. 2021) draws 512 samples from a 12B-parameter
    autoregressive transformer and keeps those CLIP scores highest; :func:`clip_rerank` is that step.
    """

    def __init__(self, model: TextImageDualEncoder, alpha: float = 1.0):
        self.model, self.alpha = model, alpha

    def fit(self, data: DigitPairs, template: str = TEMPLATES[0]) -> ConditionalPixelSampler:
        z = self.model.encode_texts([caption(int(d), template) for d in data.train_labels]).astype(np.float64)
        z1 = np.hstack([z, np.ones((len(z), 1))])
        reg = self.alpha * np.eye(z1.shape[1])
        reg[-1, -1] = 0.0  # the intercept is not shrunk
        self.coef_ = np.linalg.solve(z1.T @ z1 + reg, z1.T @ data.train_images.astype(np.float64))
        self.residuals_ = (data.train_images - z1 @ self.coef_).astype(np.float32)
        return self

    def sample(self, captions: list[str], n: int, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
        """(len(captions), n, 64) float32 samples in [0, 1]; ``temperature`` scales the residual (more = wilder samples)."""
        z = self.model.encode_texts(captions).astype(np.float64)
        mean = np.hstack([z, np.ones((len(z), 1))]) @ self.coef_
        rng = np.random.default_rng(seed)
        res = self.residuals_[rng.integers(len(self.residuals_), size=(len(captions), n))]
        return np.clip(mean[:, None, :] + temperature * res, 0.0, 1.0).astype(np.float32)


def clip_rerank(model: TextImageDualEncoder, captions: list[str], samples: np.ndarray) -> np.ndarray:
    """Index of the sample CLIP scores highest for each caption: argmax_j cos(img(s_ij), txt(c_i)) -> (len(captions),)."""
    c, n, _ = samples.shape
    img = model.encode_images(samples.reshape(c * n, -1)).reshape(c, n, -1)
    txt = model.encode_texts(captions)
    return np.einsum("cnd,cd->cn", img, txt).argmax(1)


# ------------------------------------------- Flamingo's few-shot setting, in the joint space (a proxy)
def few_shot_predict(model: TextImageDualEncoder, support_images: np.ndarray, support_labels: np.ndarray,
                     images: np.ndarray, template: str = PROMPT, text_weight: float = 0.5) -> np.ndarray:
    """Class of the nearest class vector, c_k = normalise(w * prompt_k + (1 - w) * mean image vector of the k-shot support).

    Not Flamingo's mechanism (a frozen language model reading interleaved images through gated
    cross-attention, Alayrac et al. 2022): the same *task*, k labelled examples at inference time
    and no gradient step, solved with prototypes in CLIP's space (Tip-Adapter-like). ``text_weight=1``
    is zero-shot. Every class must have at least one support image.
    """
    support_labels = np.asarray(support_labels)
    if set(range(10)) - set(support_labels.tolist()):
        raise ValueError("few_shot_predict(support_labels=...): every digit 0-9 needs at least one support image")
    prompts = model.encode_texts([caption(lab, template) for lab in range(10)])
    sup = model.encode_images(support_images)
    protos = np.stack([sup[support_labels == lab].mean(0) for lab in range(10)])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    classes = text_weight * prompts + (1 - text_weight) * protos
    classes /= np.linalg.norm(classes, axis=1, keepdims=True)
    return np.argmax(model.encode_images(images) @ classes.T, axis=1)


def k_shot_support(data: DigitPairs, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k training images per digit (seeded): (10k, 64) images and their labels."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(data.train_labels == lab), k, replace=False) for lab in range(10)])
    return data.train_images[idx], data.train_labels[idx]


GENERATIVE_MODELS = {
    "DALL-E": ("Ramesh et al. 2021 (ICML)",
               ("text -> image generation: a 12B autoregressive transformer over text tokens "
                "and 32x32 dVAE image codes; 512 samples per caption re-ranked by CLIP"),
               "openai/dall-e (dVAE only; the 12B transformer was never released)"),
    "Flamingo": ("Alayrac et al. 2022 (NeurIPS)",
                 ("few-shot vision-language model: a frozen 70B Chinchilla LM reads interleaved "
                  "image/text sequences through gated cross-attention to Perceiver-resampled image features"),
                 "open_flamingo (OpenFlamingo, a re-implementation)"),
}


def generative_model_status(name: str) -> str:
    """One line: what the model is, and why it cannot run here (its package or weights absent offline)."""
    if name not in GENERATIVE_MODELS:
        raise ValueError(f"generative_model_status(name={name!r}): expected one of {sorted(GENERATIVE_MODELS)}")
    paper, what, package = GENERATIVE_MODELS[name]
    module = {"DALL-E": "dall_e", "Flamingo": "open_flamingo"}[name]
    try:
        __import__(module)  # deferred: optional package, only probed for its presence
        have = f"package '{module}' is installed, but its weights are not on this machine (no model hub offline)"
    except ImportError:
        have = f"package '{module}' is not installed and its weights cannot be downloaded offline"
    return f"{name} ({paper}): {what}. Code path: {package}. NOT RUN HERE: {have}."
