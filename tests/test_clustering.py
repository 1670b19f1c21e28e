import numpy as np
import pytest

from vdedup_lib.clustering import (choose_keep, cosine_similarity_matrix, find_duplicates,
                                   keep_key, keep_reason, similar_pairs)


def _planted(rng, n_groups=5, per=3, dim=32, noise=0.05):
    centers = rng.normal(size=(n_groups, dim))
    x = np.concatenate([c + noise * rng.normal(size=(per, dim)) for c in centers])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_planted_groups_are_found():
    rng = np.random.default_rng(0)
    x = _planted(rng)
    singles = rng.normal(size=(4, 32))
    x = np.concatenate([x, singles / np.linalg.norm(singles, axis=1, keepdims=True)])
    d = find_duplicates(x, epsilon=0.1)
    assert sorted(map(sorted, d.groups)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11],
                                              [12, 13, 14]]
    assert len(set(d.labels[15:])) == 4  # the singles stay alone


def test_epsilon_is_a_cosine_distance_radius():
    a = np.array([[1.0, 0.0]])
    for dist in (0.05, 0.2):
        b = np.array([[1 - dist, np.sqrt(1 - (1 - dist) ** 2)]])  # cosine similarity 1 - dist
        x = np.concatenate([a, b])
        assert len(find_duplicates(x, epsilon=dist + 1e-6).groups) == 1
        assert len(find_duplicates(x, epsilon=dist - 1e-3).groups) == 0


def test_min_samples_one_chains_through_a_bridge():
    ang = np.deg2rad([0, 20, 40])
    x = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    eps = 1 - np.cos(np.deg2rad(21))
    d = find_duplicates(x, epsilon=eps)
    assert d.groups == [[0, 1, 2]]  # 0 and 2 are 40 degrees apart, joined through 1
    assert 1 - d.similarity[0, 2] > eps


def test_bad_epsilon_named():
    with pytest.raises(ValueError, match="epsilon"):
        find_duplicates(np.eye(2), epsilon=0)


def test_similarity_and_pairs():
    x = np.array([[1.0, 0], [1, 0.01], [0, 1]])
    s = cosine_similarity_matrix(x)
    assert np.allclose(np.diag(s), 1)
    pairs = similar_pairs(s, min_similarity=0.5)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_keep_rule_order():
    base = dict(width=640, height=360, duration_seconds=10.0, size_bytes=1000, mtime=100.0)
    hi_res = {**base, "relpath": "a", "width": 1280, "height": 720, "size_bytes": 10}
    longer = {**base, "relpath": "b", "duration_seconds": 12.0}
    larger = {**base, "relpath": "c", "size_bytes": 5000}
    older = {**base, "relpath": "d", "mtime": 50.0}
    plain = {**base, "relpath": "e"}
    assert choose_keep([plain, older, larger, longer, hi_res]) == 4
    assert choose_keep([plain, older, larger, longer]) == 3
    assert choose_keep([plain, older, larger]) == 2
    assert choose_keep([plain, older]) == 1
    assert "higher resolution" in keep_reason(hi_res, plain)
    assert "longer" in keep_reason(longer, plain)
    assert "larger" in keep_reason(larger, plain)
    assert "older" in keep_reason(older, plain)
    twin = {**plain, "relpath": "f"}
    assert keep_key(plain) < keep_key(twin)  # ties broken by path, deterministically


def test_letterbox_bars_do_not_win_on_resolution():
    plain = dict(relpath="plain.mp4", width=320, height=180, content_width=320, content_height=180,
                 duration_seconds=5.0, size_bytes=900, mtime=1.0)
    boxed = dict(relpath="boxed.mp4", width=320, height=240, content_width=320, content_height=180,
                 duration_seconds=5.0, size_bytes=1000, mtime=1.0)
    assert choose_keep([boxed, plain]) == 0  # same picture: the larger file wins, not the bars
    assert "larger file" in keep_reason(boxed, plain)
    bigger = dict(plain, relpath="big.mp4", width=640, height=360, content_width=640,
                  content_height=360)
    assert choose_keep([boxed, bigger]) == 1
