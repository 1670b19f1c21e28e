"""vdedup_lib.plots: the tables and figures of the notebooks show the data they are given."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vdedup_lib import plots  # noqa: E402
from vdedup_lib.clustering import find_duplicates  # noqa: E402
from vdedup_lib.dataset import VideosDataset, collate_videos, sample_frames  # noqa: E402
from vdedup_lib.plots.common import displayable  # noqa: E402

from conftest import fake_embeddings  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------
# plots.common
# --------------------------------------------------------------------------

def test_table_html_escapes_and_text_aligns():
    t = plots.Table([{"path": "a<b>.mp4", "n": 3}, {"path": "c.mp4", "n": None, "x": 1.23456}],
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
    videos = plots.video_table(infos)
    assert videos.column("path") == ["ok.mp4"]
    row = videos.rows[0]
    assert row["size"] == "128x96" and row["seconds"] == pytest.approx(2.0, abs=0.11)
    assert row["frames sampled"] == 8 and row["container"] == "mov"
    errors = plots.error_table(infos, skipped=ds.skipped, root=tmp_path)
    by_path = {r["path"]: r for r in errors.rows}
    assert by_path["bad.mp4"]["what happened"] == "unreadable"
    assert "FFmpeg" in by_path["bad.mp4"]["why"]
    assert by_path["link.mp4"]["what happened"] == "not scanned" and "symlink" in by_path["link.mp4"]["why"]


# --------------------------------------------------------------------------
# plots.dataset (notebook 01)
# --------------------------------------------------------------------------

def test_frame_strips_one_row_per_video(tmp_path, make_video):
    a = sample_frames(make_video(tmp_path / "a.mp4", 0, n=30), root=tmp_path, resize=64)
    b = sample_frames(make_video(tmp_path / "b.mp4", 2, n=30), root=tmp_path, resize=64,
                      min_frames=3, max_frames=3)
    fig = plots.plot_frame_strips([a, b], max_frames=6)
    axes = np.array(fig.axes).reshape(2, -1)
    assert axes.shape == (2, 6)
    rows = [sub._suptitle.get_text() for sub in fig.subfigs]
    assert rows[0].startswith("a.mp4: 128x96, 8 frames (6 shown)") and rows[1].startswith("b.mp4")
    assert sum(bool(ax.images) for ax in axes[1]) == 3 and sum(bool(ax.images) for ax in axes[0]) == 6
    assert axes[0, 0].get_xlabel().endswith(" s")


def test_sampling_settings_memory_bars_are_frame_bytes(tmp_path, make_video):
    clip = make_video(tmp_path / "a.mp4", 0, n=40)
    runs = [("every 1 s", sample_frames(clip, resize=64, min_frames=1)),
            ("every 0.25 s", sample_frames(clip, resize=64, min_frames=1, seconds_between_frames=0.25))]
    fig = plots.plot_sampling_settings(runs, resize=64)
    ax_t, ax_m = fig.axes
    widths = sorted(p.get_width() for p in ax_m.patches)
    expect = sorted(s.frames.numel() / 1e6 for _, s in runs)
    assert widths == pytest.approx(expect)
    assert [t.get_text() for t in ax_t.get_yticklabels()] == ["every 1 s", "every 0.25 s"]
    assert len(ax_t.collections[1].get_offsets()) == runs[1][1].frames.shape[0]


def test_frames_vs_duration_curves():
    fig = plots.plot_frames_vs_duration([dict(seconds_between_frames=1.0, max_frames=32, min_frames=8)],
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
    fig = plots.plot_batch(batch, per_row=6)
    shown = [ax for ax in fig.axes if ax.images]
    fig.canvas.draw()
    assert len(shown) == 18
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(texts) == 3 and "(0 frames; error)" in texts[2]
    assert "[18, 3, 64, 64]" in fig._suptitle.get_text()


# --------------------------------------------------------------------------
# plots.encoder (notebook 02)
# --------------------------------------------------------------------------

def test_top5_bars_in_order():
    img = np.zeros((32, 32, 3), np.uint8)
    top5 = [("missile", 0.4), ("projectile", 0.3), ("mosque", 0.1), ("ski", 0.05), ("pole", 0.01)]
    fig = plots.plot_top5(img, top5)
    ax_b = fig.axes[1]
    assert [t.get_text() for t in ax_b.get_yticklabels()] == [n for n, _ in top5][::-1]
    assert [p.get_width() for p in ax_b.patches] == [p for _, p in top5][::-1]


def test_similarity_heatmap_orders_rows_by_group():
    groups = ["b", "a", "b", "a"]
    sim = np.array([[1, .1, .9, .2], [.1, 1, .3, .8], [.9, .3, 1, .4], [.2, .8, .4, 1]])
    fig = plots.plot_similarity_heatmap(sim, groups)
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    order = [1, 3, 0, 2]
    assert np.allclose(shown, sim[np.ix_(order, order)])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (2)", "b (2)"]


def test_frame_similarity_uses_frame_features():
    emb = fake_embeddings([[1, 0, 0], [1, 0.1, 0], [0, 1, 0]], frames_per_video=3)
    fig = plots.plot_frame_similarity(emb, [("v0.mp4", "v1.mp4"), ("v0.mp4", "v2.mp4")])
    a, b = fig.axes[0].images[0].get_array(), fig.axes[1].images[0].get_array()
    assert a.shape == (3, 3) and np.all(a > 0.99) and np.all(np.abs(b) < 1e-6)


def test_umap_plot_one_style_and_legend_entry_per_group():
    coords = np.array([[0, 0], [0, 1], [5, 5], [5, 6], [9, 0]], float)
    groups = ["b", "b", "a", "a", "c"]
    fig = plots.plot_umap(coords, groups)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (2)", "b (2)", "c (1)"]
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 2, 1]
    assert np.allclose(ax.collections[0].get_offsets(), coords[2:4])  # sorted by name: a first
    styles = plots.group_styles([f"g{k:02d}" for k in range(12)])
    assert styles["g00"][1] == "o" and styles["g10"][1] == "s"  # a new marker every ten groups
    assert styles["g03"][0] == plots.group_colour("g03")


def test_a_true_group_has_one_colour_everywhere():
    """02's map, 03's map and the heatmap's labels colour a true group alike."""
    assert plots.group_colour("bunny") == plots.TRUE_GROUP_COLOURS["bunny"]
    assert plots.group_colour("shapes") != plots.group_colour("shapes_b")  # look-alikes differ
    assert plots.group_colour("?") == plots.SINGLETON_COLOUR
    assert plots.group_colour("my_group") == plots.group_colour("my_group")  # hashed, stable
    coords = np.array([[0, 0], [0, 1], [5, 5]], float)
    groups = ["shapes", "shapes", "bunny"]
    umap_fig = plots.plot_umap(coords, groups)
    by_name = {t.get_text().split(" (")[0]: h.get_facecolor()[0]
               for t, h in zip(umap_fig.axes[0].get_legend().get_texts(),
                               umap_fig.axes[0].get_legend().legend_handles)}
    emb = fake_embeddings([[1, 0], [0.99, 0.14], [0, 1]])
    map_fig = plots.plot_groups_on_umap(coords, find_duplicates(emb.embeddings, epsilon=0.05),
                                        truth_groups=groups)
    filled = map_fig.axes[0].collections[0].get_facecolors()
    for name, colour in [("shapes", filled[0]), ("bunny", map_fig.axes[0].collections[1].get_edgecolors()[0])]:
        assert matplotlib.colors.to_hex(colour) == plots.group_colour(name)
        assert matplotlib.colors.to_hex(by_name[name]) == plots.group_colour(name)
    heat = plots.plot_similarity_heatmap(np.eye(3), groups)
    assert {t.get_text(): matplotlib.colors.to_hex(t.get_color()) for t in heat.axes[0].get_yticklabels()} == {
        "bunny (1)": plots.group_colour("bunny"), "shapes (2)": plots.group_colour("shapes")}


def test_embedding_size_figure_plots_the_rows():
    rows = [{"embedding_size": k, "energy_kept": e, "epsilon": eps, "f1": f}
            for k, e, eps, f in [(2, 0.5, 0.1, 0.7), (8, 0.9, 0.2, 0.95), (32, 1.0, 0.2, 1.0)]]
    fig = plots.plot_embedding_size(rows)
    ax_e, ax_f, ax_eps = fig.axes
    assert list(ax_e.get_lines()[0].get_ydata()) == [50, 90, 100]
    assert list(ax_f.get_lines()[0].get_ydata()) == [0.7, 0.95, 1.0]
    assert list(ax_eps.get_lines()[0].get_ydata()) == [0.1, 0.2, 0.2]
    assert [t.get_text() for t in ax_f.get_xticklabels()] == ["2", "8", "32"]


# --------------------------------------------------------------------------
# plots.clustering (notebook 03)
# --------------------------------------------------------------------------

def _rows(eps, f1, wrong):
    return [{"epsilon": e, "precision": 1.0, "recall": f, "f1": f, "n_groups": 3,
             "wrong_deletions": w} for e, f, w in zip(eps, f1, wrong)]


def test_epsilon_sweep_side_by_side_with_wrong_deletions():
    alone = _rows([0.1, 0.2, 0.3, 0.4], [0.5, 0.96, 0.97, 0.8], [0, 0, 1, 3])
    framed = _rows([0.1, 0.2, 0.3, 0.4], [0.6, 1.0, 1.0, 1.0], [0, 0, 0, 0])
    fig = plots.plot_epsilon_sweep({"embeddings alone": alone, "with frames": framed}, epsilon=0.25)
    ax_a, ax_f, ax_wa, ax_wf = fig.axes
    assert ax_a.get_title() == "embeddings alone" and ax_f.get_title() == "with frames"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["precision", "recall", "F1"]
    assert [t.get_text() for t in ax_wf.texts] == ["no wrong deletion at any epsilon"] and not ax_wa.texts
    assert [p.get_height() for p in ax_wa.patches] == [0, 0, 1, 3]
    assert [p.get_height() for p in ax_wf.patches] == [0, 0, 0, 0]
    assert list(ax_f.get_lines()[2].get_ydata()) == [0.6, 1.0, 1.0, 1.0]
    assert any("default 0.25" in t.get_text() for t in ax_a.texts)
    assert ax_wa.get_ylim() == ax_wf.get_ylim()  # one scale for both columns


def test_groups_on_umap_colours_groups_and_draws_neighbour_pairs():
    emb = fake_embeddings([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99], [-1, 0.05]])
    dups = find_duplicates(emb.embeddings, epsilon=0.05)
    coords = np.arange(10, dtype=float).reshape(5, 2)
    fig = plots.plot_groups_on_umap(coords, dups, truth_groups=["a", "a", "b", "b", "c"])
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2  # one line per neighbour pair
    grouped, alone = ax.collections
    assert len(grouped.get_offsets()) == 4 and np.allclose(alone.get_offsets(), coords[4:])
    colours = grouped.get_facecolors()  # filled in the true group's colour
    assert np.allclose(colours[0], colours[1]) and not np.allclose(colours[0], colours[2])
    assert matplotlib.colors.to_hex(colours[0]) == plots.group_colour("a")
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c"}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "in a group (4)" in labels and "left alone (1)" in labels and "pair of two videos (0)" in labels
    assert len(ax.patches) == 2  # an outline per group found
    # a pair joining two different true groups is drawn in red, and so is its group's outline
    fig = plots.plot_groups_on_umap(coords, dups, truth_groups=["a", "x", "b", "b", "c"])
    ax = fig.axes[0]
    assert sum(matplotlib.colors.to_hex(line.get_color()) == "#d73027" for line in ax.get_lines()) == 1
    assert [matplotlib.colors.to_hex(p.get_edgecolor()) for p in ax.patches] == ["#d73027", "#555555"]
    assert "group of two videos (1)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_chain_solid_within_epsilon_dashed_beyond():
    # A and B 0.4 apart; the bridge between them within 0.3 of both
    emb = fake_embeddings([[1, 0, 0], [0.6, 0.8, 0], [0.9, 0.45, 0]])
    fig = plots.plot_chain(emb, "v0.mp4", "v2.mp4", "v1.mp4", epsilon=0.3)
    ax = fig.axes[0]
    assert [line.get_linestyle() for line in ax.get_lines()[:3]] == ["-", "-", "--"]
    assert any("distance 0.400\n> epsilon 0.300" == t.get_text() for t in ax.texts)


def test_group_roles_table():
    report = {"groups": [{"keep": "k.mp4", "remove": ["r.mp4"], "review": ["x.mp4"],
                          "members": [{"path": "r.mp4", "similarity_to_keep": 0.95},
                                      {"path": "x.mp4", "similarity_to_keep": 0.7}]}]}
    t = plots.group_roles_table(report, 0, truth={"k.mp4": "A", "r.mp4": "A", "x.mp4": "B"})
    assert t.column("role") == ["keep", "remove", "review"] and t.column("true group") == ["A", "A", "B"]


# --------------------------------------------------------------------------
# plots.deletion (notebook 04)
# --------------------------------------------------------------------------

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
    t = plots.plan_table(plan)
    assert t.column("action") == ["keep", "remove", "review"] and t.column("path")[1] == "copy.mp4"
    thumbs = plots.plan_thumbnails(plan, height=40)
    assert set(thumbs) == {"keep.mp4", "copy.mp4", "other.mp4"} and thumbs["copy.mp4"].shape[0] == 40
    fig = plots.plot_plan(plan, thumbs)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels == ["KEEP", "0.97", "review"]
    assert any("Group 1: keep keep.mp4" in t.get_text() for t in fig.texts)
    # another state: the person kept copy.mp4 and moved keep.mp4 to the trash
    fig = plots.plot_plan(plan, thumbs, states={"copy.mp4": "keep", "keep.mp4": "in trash",
                                                "other.mp4": "leave"})
    assert [ax.get_xlabel() for ax in fig.axes] == ["KEEP", "trash", "leave"]
    assert "Group 1: keep copy.mp4" in [t.get_text() for t in fig.texts]
    assert "chosen by hand" in [t.get_text() for t in fig.texts]


def test_figure_png_and_displayable():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = plots.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)
    assert displayable("café ß – x.mp4") == "café ß – x.mp4"
    if len(plots.common._installed_fonts()) == 1:  # no CJK font installed: exact escapes
        assert displayable("日本.mp4") == "\\u65e5\\u672c.mp4"
    else:
        assert displayable("日本.mp4") == "日本.mp4"


def test_calibration_plot_shows_both_distributions_and_both_epsilons():
    from vdedup_lib.evaluation import CalibrationResult, suggest_epsilon

    copies = np.array([0.01, 0.03, 0.05, 0.12])
    others = np.array([0.45, 0.5, 0.6, 0.62, 0.7])
    eps, rule = suggest_epsilon(copies, others)
    r = CalibrationResult(eps, 0.21, 1.0, 1.0, 1.0, 1.0, copies, others, {"crop": 1.0},
                          {"crop": 1.0}, [], [], [], ["a.mp4", "b.mp4"], [], ("crop",), rule)
    fig = plots.plot_calibration(r)
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
    fig = plots.plot_aligned_strip(tmp_path, "a.mp4", "trim.mp4", ev)
    k = min(5, len(ev["aligned"]))
    assert len(fig.axes) == 10
    top, bottom = fig.axes[:k], fig.axes[5:5 + k]
    assert (ev["aligned"][0][0], ev["aligned"][-1][0]) == tuple(
        float(ax.get_xlabel()[:-2]) for ax in (top[0], top[-1]))  # spread over the alignment
    for ax_a, ax_b in zip(top, bottom):
        ta, tb = float(ax_a.get_xlabel()[:-2]), float(ax_b.get_xlabel().split(" s,")[0])
        assert tb == pytest.approx(ta + ev["offset_seconds"], abs=0.3)  # b at a's time + offset
        assert ", NCC " in ax_b.get_xlabel()
    assert [s._suptitle.get_text() for s in fig.subfigs] == ["kept: a.mp4", "copy: trim.mp4"]
    fig.savefig(tmp_path / "strip.png", dpi=60)
    assert (tmp_path / "strip.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="no aligned frames to show"):
        plots.plot_aligned_strip(tmp_path, "a.mp4", "trim.mp4", {"aligned": []})



# --------------------------------------------------------------------------
# Readable on a projector: every figure of the notebooks
# --------------------------------------------------------------------------

def _every_figure(tmp_path, make_video) -> dict:
    """One of each figure the notebooks draw, from small real inputs."""
    from conftest import make_clip, scene, write_video
    from vdedup_lib.verify import TrackCache

    a = sample_frames(make_video(tmp_path / "a long name of a video file.mp4", 0, n=30), root=tmp_path)
    ds = VideosDataset(tmp_path, seconds_between_frames=0.5)
    batch = collate_videos([ds[i] for i in range(len(ds))])
    emb = fake_embeddings([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0.1, 1, 0.2], [0, 0, 1]])
    groups = ["astronaut_pan", "astronaut_pan", "bikes_late", "bikes_late", "shapes_b"]
    dups = find_duplicates(emb.embeddings, epsilon=0.05)
    rows = _rows([0.1, 0.2, 0.3], [0.5, 0.96, 0.97], [0, 1, 3])
    make_clip(tmp_path / "v" / "a.mp4", 1, n=40)
    write_video(tmp_path / "v" / "trim.mp4", [scene(1, t) for t in range(15, 35)])
    ev = TrackCache(tmp_path / "v").verify("a.mp4", "trim.mp4", 4.0, 2.0).to_dict()
    plan = _plan(tmp_path / "p", make_video)
    coords = np.random.default_rng(0).normal(size=(5, 2))
    return {
        "frame strips": plots.plot_frame_strips([a, a, a]),
        "sampling settings": plots.plot_sampling_settings([("every 1 s", a), ("every 0.25 s, cap 8", a)]),
        "frames vs duration": plots.plot_frames_vs_duration([dict(max_frames=32)], durations=[3.0]),
        "batch": plots.plot_batch(batch),
        "top-5": plots.plot_top5(np.zeros((32, 32, 3), np.uint8), [("missile", 0.5), ("projectile", 0.2)]),
        "frame similarity": plots.plot_frame_similarity(emb, [("v0.mp4", "v1.mp4"), ("v0.mp4", "v2.mp4")]),
        "heatmap": plots.plot_similarity_heatmap(emb.embeddings @ emb.embeddings.T, groups),
        "umap": plots.plot_umap(coords, groups),
        "embedding size": plots.plot_embedding_size(
            [{"embedding_size": k, "energy_kept": 0.9, "epsilon": 0.2, "f1": 0.9} for k in (4, 32, 1280)]),
        "sweep": plots.plot_epsilon_sweep({"embeddings alone": rows, "embeddings + frames": rows}, epsilon=0.25),
        "groups on umap": plots.plot_groups_on_umap(coords, dups, truth_groups=groups),
        "chain": plots.plot_chain(emb, "v0.mp4", "v1.mp4", "v2.mp4", epsilon=0.3),
        "aligned strip": plots.plot_aligned_strip(tmp_path / "v", "a.mp4", "trim.mp4", ev),
        "plan": plots.plot_plan(plan, plots.plan_thumbnails(plan), title="a title"),
    }


def test_every_figure_fits_a_cell_with_text_of_at_least_10_points(tmp_path, make_video):
    """At the notebooks' resolution a figure is at most ~1000 px wide (a cell shows it
    unshrunk) and no text is under 10 pt, so it reads on a projector."""
    import io

    from PIL import Image

    figures = _every_figure(tmp_path, make_video)
    for name, fig in figures.items():
        assert plots.smallest_font_size(fig) >= plots.MIN_FONT_SIZE, name
        png = plots.figure_png(fig)
        width = Image.open(io.BytesIO(png)).size[0]
        assert width <= plots.MAX_FIGURE_WIDTH_INCHES * plots.FIGURE_DPI + 40, (name, width)
