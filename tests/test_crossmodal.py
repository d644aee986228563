"""lessonlib.tasks.crossmodal: symmetric InfoNCE, retrieval metrics, a short CLIP-style training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.tasks import crossmodal as C


def test_clip_loss_is_mean_of_both_directions():
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(5, 4), dim=-1)
    b = torch.nn.functional.normalize(torch.randn(5, 4), dim=-1)
    s = torch.tensor(np.log(10.0))
    logits = 10.0 * a @ b.T
    ref = (torch.nn.functional.cross_entropy(logits, torch.arange(5)) + torch.nn.functional.cross_entropy(logits.T, torch.arange(5))) / 2
    assert C.clip_loss(a, b, s).item() == pytest.approx(ref.item(), rel=1e-5)
    masked = C.clip_loss(a, b, s, torch.tensor([0, 0, 1, 2, 3]))
    lm = logits.clone()
    lm[0, 1] = lm[1, 0] = float("-inf")  # same label: not a negative
    ref_m = (torch.nn.functional.cross_entropy(lm, torch.arange(5)) + torch.nn.functional.cross_entropy(lm.T, torch.arange(5))) / 2
    assert masked.item() == pytest.approx(ref_m.item(), rel=1e-5)


def test_retrieval_metrics_against_sklearn_average_precision():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    q, c = rng.normal(size=(6, 4)), rng.normal(size=(30, 4))
    ql, cl = rng.integers(0, 3, 6), rng.integers(0, 3, 30)
    out = C.retrieval_metrics(q, ql, c, cl, ks=(1, 5))
    s = q @ c.T
    ap = np.mean([average_precision_score(cl == ql[i], s[i]) for i in range(6)])
    assert out["mAP"] == pytest.approx(ap, abs=1e-9)
    top1 = cl[np.argmax(s, 1)] == ql
    assert out["recall@1"] == pytest.approx(top1.mean())


def test_captions_vary_and_held_out_prompts_use_known_words():
    data = C.load_digit_pairs(seed=0, n_train=50)
    assert len({C.caption(7, t) for t in C.TEMPLATES}) == len(C.TEMPLATES)
    assert C.caption(7, "a handwritten {w}") == "a handwritten seven" and C.caption(7, "the digit {d}") == "the digit 7"
    tok = C.tokenize([C.caption(3, C.PROMPT)], data.vocab)
    assert (tok[tok > 0] > 1).all()  # no unknown words


def test_short_training_learns_zero_shot_classification():
    torch.set_num_threads(1)
    data = C.load_digit_pairs(seed=0, n_train=600)
    model = C.TextImageDualEncoder(data.vocab, seed=0)
    before = C.zero_shot_accuracy(model, data.test_images, data.test_labels)
    losses = C.fit_text_image(model, data, epochs=6, batch_size=64, seed=0)
    assert losses[-1] < losses[0] / 2
    after = C.zero_shot_accuracy(model, data.test_images, data.test_labels)
    assert after > 0.7 and after > before + 0.4
    t2i = C.text_to_image(model, data, C.TEMPLATES)
    assert t2i["mAP"] > 0.6
