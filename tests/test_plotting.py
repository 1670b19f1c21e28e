"""vdedup_lib.plotting: the tables and figures of the notebooks show the data they are given."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vdedup_lib import plotting  # noqa: E402
from vdedup_lib.clustering import find_duplicates  # noqa: E402
from vdedup_lib.config import Config  # noqa: E402
from vdedup_lib.dataset import VideosDataset, collate_videos, sample_frames  # noqa: E402
from vdedup_lib.encoder import VideoEmbeddings  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _unit(rows) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def fake_embeddings(vectors, *, frames_per_video: int = 4, root="/nonexistent") -> VideoEmbeddings:
    """VideoEmbeddings whose frames all equal the (normalised) video vector."""
    e = _unit(vectors)
    n = len(e)
    videos = [{"path": f"{root}/v{i}.mp4", "relpath": f"v{i}.mp4", "status": "ok", "reason": "",
               "width": 320, "height": 240, "duration_seconds": 4.0, "size_bytes": 1000 + i,
               "mtime": 1.0} for i in range(n)]
    return VideoEmbeddings(root=root, videos=videos, ok_index=list(range(n)), embeddings=e,
                           frame_features=[np.repeat(v[None], frames_per_video, 0) for v in e],
                           pts_seconds=[np.arange(frames_per_video, dtype=float) for _ in e],
                           informative=[np.ones(frames_per_video, bool) for _ in e])


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def test_table_html_escapes_and_text_aligns():
    t = plotting.Table([{"path": "a<b>.mp4", "n": 3}, {"path": "c.mp4", "n": None, "x": 1.23456}],
                       title="T & co")
    assert t.columns == ["path", "n", "x"] and len(t) == 2 and t.column("n") == [3, None]
    h = t._repr_html_()
    assert "a&lt;b&gt;.mp4" in h and "<b>T &amp; co</b>" in h and h.count("<tr>") == 3
    lines = str(t).splitlines()
    assert lines[0] == "T & co" and lines[1].split() == ["path", "n", "x"]
    assert "1.23" in lines[4] and "1.2346" not in lines[4]
    col = lines[1].index(" n ") + 1  # the columns line up
    assert lines[3][col] == "3" and lines[4][:col].rstrip() == "c.mp4"


def test_video_and_error_tables_from_real_files(tmp_path, make_video):
    make_video(tmp_path / "ok.mp4", 0, n=20)
    (tmp_path / "bad.mp4").write_text("not a video")
    (tmp_path / "link.mp4").symlink_to(tmp_path / "ok.mp4")
    ds = VideosDataset(tmp_path)
    infos = [ds.sample(i).info for i in range(len(ds))]
    videos = plotting.video_table(infos)
    assert videos.column("path") == ["ok.mp4"]
    row = videos.rows[0]
    assert row["size"] == "128x96" and row["seconds"] == pytest.approx(2.0, abs=0.11)
    assert row["frames sampled"] == 8 and row["container"] == "mov"
    errors = plotting.error_table(infos, skipped=ds.skipped, root=tmp_path)
    by_path = {r["path"]: r for r in errors.rows}
    assert by_path["bad.mp4"]["what happened"] == "unreadable"
    assert "FFmpeg" in by_path["bad.mp4"]["why"]
    assert by_path["link.mp4"]["what happened"] == "not scanned" and "symlink" in by_path["link.mp4"]["why"]


# --------------------------------------------------------------------------
# Stage 1
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(seconds_between_frames=0.5, max_frames=32, min_frames=1),
                                dict(seconds_between_frames=0.25, max_frames=5, min_frames=1),
                                dict(seconds_between_frames=1.0, max_frames=32, min_frames=8)])
def test_frames_for_duration_matches_real_sampling(tmp_path, make_video, kw):
    clip = make_video(tmp_path / "c.mp4", 1, n=40)  # 4 s at 10 fps
    s = sample_frames(clip, resize=64, **kw)
    assert plotting.frames_for_duration(s.info.duration_seconds, **kw) == s.frames.shape[0]


def test_frames_for_duration_cap_and_floor():
    assert plotting.frames_for_duration(3600, seconds_between_frames=1, max_frames=32) == 32
    assert plotting.frames_for_duration(2, seconds_between_frames=1, max_frames=32, min_frames=8) == 8
    assert plotting.frames_for_duration(20, seconds_between_frames=1, max_frames=32, min_frames=8) == 20


def test_frame_strips_one_row_per_video(tmp_path, make_video):
    a = sample_frames(make_video(tmp_path / "a.mp4", 0, n=30), root=tmp_path, resize=64)
    b = sample_frames(make_video(tmp_path / "b.mp4", 2, n=30), root=tmp_path, resize=64,
                      min_frames=3, max_frames=3)
    fig = plotting.plot_frame_strips([a, b], max_frames=8)
    axes = np.array(fig.axes).reshape(2, -1)
    assert axes.shape == (2, 8)
    assert "a.mp4" in axes[0, 0].get_ylabel() and "b.mp4" in axes[1, 0].get_ylabel()
    assert sum(bool(ax.images) for ax in axes[1]) == 3 and sum(bool(ax.images) for ax in axes[0]) == 8
    assert axes[0, 0].get_xlabel().endswith(" s")


def test_sampling_settings_memory_bars_are_frame_bytes(tmp_path, make_video):
    clip = make_video(tmp_path / "a.mp4", 0, n=40)
    runs = [("every 1 s", sample_frames(clip, resize=64, min_frames=1)),
            ("every 0.25 s", sample_frames(clip, resize=64, min_frames=1, seconds_between_frames=0.25))]
    fig = plotting.plot_sampling_settings(runs, resize=64)
    ax_t, ax_m = fig.axes
    widths = sorted(p.get_width() for p in ax_m.patches)
    expect = sorted(s.frames.numel() / 1e6 for _, s in runs)
    assert widths == pytest.approx(expect)
    assert [t.get_text() for t in ax_t.get_yticklabels()] == ["every 1 s", "every 0.25 s"]
    assert len(ax_t.collections[1].get_offsets()) == runs[1][1].frames.shape[0]


def test_frames_vs_duration_curves():
    fig = plotting.plot_frames_vs_duration([dict(seconds_between_frames=1.0, max_frames=32, min_frames=8)],
                                           durations=[3.0, 5.0], max_duration=100)
    ax = fig.axes[0]
    curve = ax.get_lines()[0]
    assert curve.get_ydata().max() == 32 and curve.get_ydata().min() == 8
    assert ax.get_legend() is not None


def test_batch_figure_colours_frames_by_video(tmp_path, make_video):
    make_video(tmp_path / "a.mp4", 0, n=30)
    make_video(tmp_path / "b.mp4", 1, n=50)
    (tmp_path / "c.mp4").write_text("junk")
    ds = VideosDataset(tmp_path, video_resize=64, seconds_between_frames=0.5)
    batch = collate_videos([ds[i] for i in range(len(ds))])
    assert batch["lengths"] == [8, 10, 0]
    fig = plotting.plot_batch(batch, per_row=6)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 18
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(texts) == 3 and "(0 frames; error)" in texts[2]
    assert "[18, 3, 64, 64]" in fig._suptitle.get_text()


# --------------------------------------------------------------------------
# Stage 2
# --------------------------------------------------------------------------

def test_top5_bars_in_order():
    img = np.zeros((32, 32, 3), np.uint8)
    top5 = [("missile", 0.4), ("projectile", 0.3), ("mosque", 0.1), ("ski", 0.05), ("pole", 0.01)]
    fig = plotting.plot_top5(img, top5)
    ax_b = fig.axes[1]
    assert [t.get_text() for t in ax_b.get_yticklabels()] == [n for n, _ in top5][::-1]
    assert [p.get_width() for p in ax_b.patches] == [p for _, p in top5][::-1]


def test_similarity_heatmap_orders_rows_by_group():
    groups = ["b", "a", "b", "a"]
    sim = np.array([[1, .1, .9, .2], [.1, 1, .3, .8], [.9, .3, 1, .4], [.2, .8, .4, 1]])
    fig = plotting.plot_similarity_heatmap(sim, groups)
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    order = [1, 3, 0, 2]
    assert np.allclose(shown, sim[np.ix_(order, order)])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (2)", "b (2)"]


def test_frame_similarity_uses_frame_features():
    emb = fake_embeddings([[1, 0, 0], [1, 0.1, 0], [0, 1, 0]], frames_per_video=3)
    fig = plotting.plot_frame_similarity(emb, [("v0.mp4", "v1.mp4"), ("v0.mp4", "v2.mp4")])
    a, b = fig.axes[0].images[0].get_array(), fig.axes[1].images[0].get_array()
    assert a.shape == (3, 3) and np.all(a > 0.99) and np.all(np.abs(b) < 1e-6)


@pytest.mark.slow
def test_umap_is_deterministic_and_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    x = np.concatenate([c + 0.01 * rng.normal(size=(8, 16)) for c in centres])
    a = plotting.umap_2d(x, random_state=0)
    b = plotting.umap_2d(x, random_state=0)
    assert a.shape == (24, 2) and np.allclose(a, b)
    labels = np.repeat(np.arange(3), 8)
    within = max(np.ptp(a[labels == k], axis=0).max() for k in range(3))
    means = np.array([a[labels == k].mean(0) for k in range(3)])
    between = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i + 1, 3))
    assert between > within
    fig = plotting.plot_umap(a, [f"g{k}" for k in labels])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["g0 (8)", "g1 (8)", "g2 (8)"]


def test_reduced_embeddings_equal_encoding_with_embedding_size(tmp_path, make_video):
    """Reducing afterwards gives what encode_videos(embedding_size=k) gives."""
    from vdedup_lib.encoder import EncoderCNN, encode_videos

    for k in range(3):
        make_video(tmp_path / f"v{k}.mp4", k, n=20)
    enc = EncoderCNN(device="cpu")
    cfg = Config(videos_dir=tmp_path, video_resize=64)
    native = encode_videos(config=cfg, encoder=enc)
    small = encode_videos(config=cfg.replace(embedding_size=6), encoder=enc)
    mine = plotting.reduced_embeddings(native, 6)
    assert mine.embeddings.shape == small.embeddings.shape == (3, 6)
    assert np.allclose(np.abs(mine.embeddings @ small.embeddings.T).diagonal(), 1, atol=1e-4)
    assert mine.energy_kept == pytest.approx(small.energy_kept, abs=1e-6)
    assert plotting.reduced_embeddings(native, None) is native


def test_embedding_size_study_and_figure():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 32))
    vecs = np.concatenate([c + 0.05 * rng.normal(size=(4, 32)) for c in centres])
    emb = fake_embeddings(vecs)
    truth = {p: f"g{i // 4}" for i, p in enumerate(emb.paths)}
    rows = plotting.embedding_size_study(emb, truth, [2, 8, 32], epsilons=np.arange(0.01, 0.3, 0.01))
    assert [r["embedding_size"] for r in rows] == [2, 8, 32]
    assert rows[-1]["f1"] == 1.0 and rows[-1]["energy_kept"] == 1.0
    assert rows[0]["energy_kept"] < rows[1]["energy_kept"] <= 1.0
    fig = plotting.plot_embedding_size(rows)
    assert len(fig.axes) == 3


# --------------------------------------------------------------------------
# Stage 3
# --------------------------------------------------------------------------

def _rows(eps, f1, wrong):
    return [{"epsilon": e, "precision": 1.0, "recall": f, "f1": f, "n_groups": 3,
             "wrong_deletions": w} for e, f, w in zip(eps, f1, wrong)]


def test_epsilon_sweep_marks_choice_and_wrong_deletions():
    rows = _rows([0.1, 0.2, 0.3, 0.4], [0.5, 0.96, 0.97, 0.8], [0, 0, 0, 2])
    fig = plotting.plot_epsilon_sweep(rows, chosen=0.3)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["precision", "recall", "F1"] and "a wrong deletion is proposed" in labels
    assert any("chosen epsilon 0.300" in t.get_text() and "F1 0.970" in t.get_text() for t in ax.texts)
    spans = [p for p in ax.patches if p.get_alpha() == pytest.approx(0.12)]
    assert len(spans) == 1


def test_neighbour_pairs_and_groups_on_umap():
    emb = fake_embeddings([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99], [-1, 0.05]])
    dups = find_duplicates(emb.embeddings, epsilon=0.05)
    assert plotting.neighbour_pairs(dups) == [(0, 1), (2, 3)]
    graph = find_duplicates(emb.embeddings, epsilon=0.05, method="graph")
    assert plotting.neighbour_pairs(graph) == [(0, 1), (2, 3)]
    coords = np.arange(10, dtype=float).reshape(5, 2)
    fig = plotting.plot_groups_on_umap(coords, dups, truth_groups=["a", "a", "b", "b", "c"])
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2  # one line per neighbour pair
    colours = ax.collections[0].get_facecolors()
    assert np.allclose(colours[0], colours[1]) and not np.allclose(colours[0], colours[2])
    assert matplotlib.colors.to_hex(colours[4]) == plotting.SINGLETON_COLOUR
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c"}


def test_bridge_chains_two_far_videos():
    emb = fake_embeddings([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]])
    truth = {"v0.mp4": "A", "v1.mp4": "B", "v2.mp4": "C"}
    a, b, d = plotting.closest_different_pair(emb, truth, farther_than=0.3)
    assert (a, b) == ("v0.mp4", "v1.mp4") and d == pytest.approx(0.4)
    with pytest.raises(ValueError):
        plotting.closest_different_pair(emb, truth, farther_than=1.5)
    bridged = plotting.add_bridge_video(emb, a, b, name="bridge.mp4")
    assert bridged.paths[-1] == "bridge.mp4" and len(emb.paths) == 3  # the input is unchanged
    e = bridged.embeddings
    assert 1 - e[3] @ e[0] < 0.3 and 1 - e[3] @ e[1] < 0.3 and 1 - e[0] @ e[1] > 0.3
    dups = find_duplicates(e, epsilon=0.3)
    assert dups.groups == [[0, 1, 3]]
    fig = plotting.plot_chain(bridged, a, "bridge.mp4", b, epsilon=0.3)
    styles = [l.get_linestyle() for l in fig.axes[0].get_lines()[:3]]
    assert styles == ["-", "-", "--"]


def test_group_roles_table():
    report = {"groups": [{"keep": "k.mp4", "remove": ["r.mp4"], "review": ["x.mp4"],
                          "members": [{"path": "r.mp4", "similarity_to_keep": 0.95},
                                      {"path": "x.mp4", "similarity_to_keep": 0.7}]}]}
    t = plotting.group_roles_table(report, 0, truth={"k.mp4": "A", "r.mp4": "A", "x.mp4": "B"})
    assert t.column("role") == ["keep", "remove", "review"] and t.column("true group") == ["A", "A", "B"]


# --------------------------------------------------------------------------
# Stage 4
# --------------------------------------------------------------------------

def test_thumbnail_aspect_and_bad_file(tmp_path, make_video):
    img = plotting.thumbnail(make_video(tmp_path / "a.mp4", 0, n=20), height=60)
    assert img.shape == (60, 80, 3) and img.dtype == np.uint8 and img.std() > 5
    (tmp_path / "bad.mp4").write_bytes(b"\0" * 100)
    assert plotting.thumbnail(tmp_path / "bad.mp4") is None


def _plan(tmp_path, make_video):
    from vdedup_lib.deletion import Plan, PlannedGroup, Removal

    for name in ("keep.mp4", "copy.mp4", "other.mp4"):
        make_video(tmp_path / name, 0, n=20)
    g = PlannedGroup(number=1, keep="keep.mp4", keep_reason="higher resolution (1x1 vs 1x1)",
                     remove=[Removal(path="copy.mp4", size_bytes=1, mtime=1.0, similarity_to_keep=0.97,
                                     reason="r")], review=["other.mp4"])
    return Plan(root=str(tmp_path), groups=[g])


def test_plan_table_thumbnails_and_figure(tmp_path, make_video):
    plan = _plan(tmp_path, make_video)
    t = plotting.plan_table(plan)
    assert t.column("action") == ["keep", "remove", "review"] and t.column("path")[1] == "copy.mp4"
    thumbs = plotting.plan_thumbnails(plan, height=40)
    assert set(thumbs) == {"keep.mp4", "copy.mp4", "other.mp4"} and thumbs["copy.mp4"].shape[0] == 40
    fig = plotting.plot_plan(plan, thumbs)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels[0].startswith("KEEP") and labels[1].startswith("REMOVE 0.97") and labels[2].startswith("REVIEW")
    assert any("Group 1: keep keep.mp4" in t.get_text() for t in fig.texts)


def test_figure_png_and_displayable():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = plotting.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)
    assert plotting._displayable("café ß – x.mp4") == "café ß – x.mp4"
    assert plotting._displayable("日本.mp4") == "??.mp4"  # DejaVu Sans has no CJK


def test_calibration_plot_shows_both_distributions_and_both_epsilons():
    from vdedup_lib.evaluation import CalibrationResult, suggest_epsilon

    copies = np.array([0.01, 0.03, 0.05, 0.12])
    others = np.array([0.45, 0.5, 0.6, 0.62, 0.7])
    eps, rule = suggest_epsilon(copies, others)
    r = CalibrationResult(eps, 0.21, 1.0, 1.0, 1.0, 1.0, copies, others, {"crop": 1.0},
                          {"crop": 1.0}, [], [], [], ["a.mp4", "b.mp4"], [], ("crop",), rule)
    fig = plotting.plot_calibration(r)
    ax = fig.axes[0]
    heights = [sum(p.get_height() for p in c) for c in ax.containers]
    assert sorted(heights) == [len(copies), len(others)]
    vlines = sorted(l.get_xdata()[0] for l in ax.get_lines())
    assert vlines == pytest.approx(sorted([eps, 0.21]))
    labels = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert f"suggested epsilon {eps:.3f}" in labels and "current epsilon 0.210" in labels

def test_aligned_strip_of_a_verified_pair(tmp_path):
    from conftest import make_clip, scene, write_video
    from vdedup_lib.verify import TrackCache

    make_clip(tmp_path / "a.mp4", 1, n=40)
    write_video(tmp_path / "trim.mp4", [scene(1, t) for t in range(15, 35)])
    ev = TrackCache(tmp_path).verify("a.mp4", "trim.mp4", 4.0, 2.0).to_dict()
    assert ev["verified"] and ev["offset_seconds"] == pytest.approx(-1.5, abs=0.3), ev
    fig = plotting.plot_aligned_strip(tmp_path, "a.mp4", "trim.mp4", ev)
    k = len(ev["aligned"])
    assert len(fig.axes) == 2 * k
    top, bottom = fig.axes[:k], fig.axes[k:]
    for (ta, tb, _), ax_a, ax_b in zip(ev["aligned"], top, bottom):
        assert ax_a.get_xlabel() == f"{ta:.2f} s"
        assert ax_b.get_xlabel().startswith(f"{tb:.2f} s\nNCC")
    fig.savefig(tmp_path / "strip.png", dpi=60)
    assert (tmp_path / "strip.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="no aligned frames to show"):
        plotting.plot_aligned_strip(tmp_path, "a.mp4", "trim.mp4", {"aligned": []})
