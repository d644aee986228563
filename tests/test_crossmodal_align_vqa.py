"""lessonlib.tasks.crossmodal extensions: ALIGN-style noisy pairs, VQA as answer retrieval, CLIP re-ranking, few-shot prototypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.tasks import crossmodal as C


def test_corrupt_labels_flips_exactly_the_share_and_never_keeps_the_digit():
    y = np.arange(200) % 10
    out, bad = C.corrupt_labels(y, 0.3, seed=1)
    assert bad.sum() == 60 and (out[bad] != y[bad]).all() and (out[~bad] == y[~bad]).all()
    assert set(out[bad]) <= set(range(10))
    assert (C.corrupt_labels(y, 0.3, seed=1)[0] == out).all()  # seeded
    with pytest.raises(ValueError):
        C.corrupt_labels(y, 1.5)


def test_noise_zero_trains_exactly_as_before_and_full_noise_learns_nothing():
    torch.set_num_threads(1)
    data = C.load_digit_pairs(seed=0, n_train=400)
    a, b = C.TextImageDualEncoder(data.vocab, seed=0), C.TextImageDualEncoder(data.vocab, seed=0)
    assert C.fit_text_image(a, data, epochs=2, seed=0) == C.fit_text_image(b, data, epochs=2, seed=0, noise=0.0)
    clean, noisy = C.TextImageDualEncoder(data.vocab, seed=0), C.TextImageDualEncoder(data.vocab, seed=0)
    C.fit_text_image(clean, data, epochs=6, seed=0, mask_same_label=False)
    C.fit_text_image(noisy, data, epochs=6, seed=0, mask_same_label=False, noise=1.0)  # every caption names a wrong digit
    acc = lambda m: C.zero_shot_accuracy(m, data.test_images, data.test_labels)
    assert acc(clean) > 0.6 and acc(noisy) < 0.2


def test_vqa_examples_answer_each_question_from_the_digit():
    imgs, questions, answers = C.vqa_examples(np.zeros((2, 64)), np.array([7, 2]))
    got = {(q, C.ANSWERS[a]) for q, a in zip(questions, answers)}
    assert ("what digit is this", "seven") in got and ("is the number even or odd", "odd") in got
    assert ("is it bigger than four", "no") in got and ("what number comes after it", "three") in got
    assert imgs.shape == (8, 64) and len(questions) == 8


def test_vqa_needs_both_image_and_question():
    torch.set_num_threads(1)
    data = C.load_digit_pairs(seed=0, n_train=500)
    full, blind = C.VQARetriever(seed=0), C.VQARetriever(use_image=False, seed=0)
    for m in (full, blind):
        losses = C.fit_vqa(m, data.train_images, data.train_labels, epochs=6, seed=0)
    assert losses[-1] < losses[0]
    f, b = (C.vqa_accuracy(m, data.test_images, data.test_labels) for m in (full, blind))
    assert f["all"] > 0.8
    assert b["what digit is this"] < 0.2 and b["all"] < 0.45  # without the image: answer priors only


def test_clip_rerank_picks_the_argmax_and_sampler_shapes():
    model = C.TextImageDualEncoder(C.load_digit_pairs(seed=0, n_train=50).vocab, seed=0)
    caps = ["the digit 3", "a handwritten seven"]
    samples = np.random.default_rng(0).random((2, 5, 64)).astype(np.float32)
    pick = C.clip_rerank(model, caps, samples)
    img, txt = model.encode_images(samples.reshape(10, 64)).reshape(2, 5, -1), model.encode_texts(caps)
    assert (pick == np.array([np.argmax(img[i] @ txt[i]) for i in range(2)])).all()
    data = C.load_digit_pairs(seed=0, n_train=200)
    s = C.ConditionalPixelSampler(model).fit(data).sample(caps, 4, seed=0, temperature=2.0)
    assert s.shape == (2, 4, 64) and s.min() >= 0 and s.max() <= 1


def test_few_shot_with_text_weight_one_is_zero_shot_and_support_is_checked():
    data = C.load_digit_pairs(seed=0, n_train=300)
    model = C.TextImageDualEncoder(data.vocab, seed=0)
    sup, lab = C.k_shot_support(data, 2, seed=0)
    assert sorted(lab.tolist()) == sorted(list(range(10)) * 2)
    assert (C.few_shot_predict(model, sup, lab, data.test_images, text_weight=1.0) == C.zero_shot_predict(model, data.test_images)).all()
    with pytest.raises(ValueError):
        C.few_shot_predict(model, sup[lab != 3], lab[lab != 3], data.test_images)


def test_generative_status_says_not_run_and_rejects_unknown():
    for name in C.GENERATIVE_MODELS:
        assert "NOT RUN HERE" in C.generative_model_status(name)
    with pytest.raises(ValueError):
        C.generative_model_status("Imagen")
