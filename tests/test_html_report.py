"""The HTML review page: self-contained, every group's frames render in real headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import make_clip, scene as photo_scene, write_video
from vdedup_lib.html_report import (MAX_ALIGNED_PAIRS, PLAN_FILE_NAME, render_html_report,
                                     write_html_report)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def make_video(path: Path, frames: np.ndarray, *, fps: int = 8, codec: str = "mpeg4") -> Path:
    """Encode ``frames`` (uint8 [T, H, W, 3], RGB) with PyAV (conftest's writer)."""
    return write_video(path, list(frames), fps=fps, codec=codec)


def scene(seed: int, h: int, w: int, t: int = 24) -> np.ndarray:
    """A moving coloured gradient with a few blocks: distinct per seed, smooth enough to encode."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0, 255, size=3)
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        img = np.stack([(base[c] + 120 * np.sin((xx / w + i / t) * (2 + c) * np.pi)
                         + 80 * np.cos((yy / h) * (1 + c) * np.pi)) % 256 for c in range(3)], -1)
        bx, by = int((i / t) * (w * 0.6)), int(h * 0.3)
        img[by:by + h // 4, bx:bx + w // 5] = 255 - base
        out[i] = img.astype(np.uint8)
    return out


def _info(root: Path, rel: str, w: int, h: int, dur: float) -> dict:
    st = os.stat(root / rel)
    return {"path": rel, "status": "ok", "reason": "", "width": w, "height": h,
            "duration_seconds": dur, "size_bytes": st.st_size, "mtime": st.st_mtime,
            "bitrate": 8 * st.st_size / dur, "codec": "mpeg4", "container": "mov,mp4"}


@pytest.fixture(scope="module")
def video_report(tmp_path_factory):
    """Three groups of tiny real videos and a report dict for them."""
    import cv2

    root = tmp_path_factory.mktemp("html") / "videos"
    a, b, c = scene(1, 72, 128), scene(2, 72, 128), scene(3, 128, 72)
    small = lambda v, w, h: np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in v])
    make_video(root / "originals/a.mp4", a)
    make_video(root / "copies/a_small.mp4", small(a, 64, 36))
    make_video(root / "copies/a chain & <odd>.mkv", small(a, 96, 54), codec="libx264")
    make_video(root / "b/b.mp4", b)
    make_video(root / "b/b_short.avi", b[:16])
    make_video(root / "portrait/c.mp4", c)
    make_video(root / "portrait/c_copy.mp4", small(c, 36, 64))
    (root / "bad").mkdir()
    (root / "bad/broken.mp4").write_bytes(b"not a video at all")
    infos = [_info(root, "originals/a.mp4", 128, 72, 3.0), _info(root, "copies/a_small.mp4", 64, 36, 3.0),
             _info(root, "copies/a chain & <odd>.mkv", 96, 54, 3.0), _info(root, "b/b.mp4", 128, 72, 3.0),
             _info(root, "b/b_short.avi", 128, 72, 2.0), _info(root, "portrait/c.mp4", 72, 128, 3.0),
             _info(root, "portrait/c_copy.mp4", 36, 64, 3.0),
             {"path": "bad/broken.mp4", "status": "error", "reason": "not a video FFmpeg can open"}]
    groups = [{"keep": "originals/a.mp4", "keep_reason": "", "remove": ["copies/a_small.mp4"],
               "review": ["copies/a chain & <odd>.mkv"],
               "members": [{"path": "copies/a_small.mp4", "similarity_to_keep": 0.991},
                           {"path": "copies/a chain & <odd>.mkv", "similarity_to_keep": 0.83,
                            "review_reason": "joined the group through other members"}]},
              {"keep": "b/b.mp4", "keep_reason": "", "remove": ["b/b_short.avi"], "review": [],
               "members": [{"path": "b/b_short.avi", "similarity_to_keep": 0.97}]},
              {"keep": "portrait/c.mp4", "keep_reason": "", "remove": ["portrait/c_copy.mp4"],
               "review": [], "members": [{"path": "portrait/c_copy.mp4", "similarity_to_keep": 0.985}]}]
    pairs = [["originals/a.mp4", "copies/a_small.mp4", 0.991],
             ["copies/a_small.mp4", "copies/a chain & <odd>.mkv", 0.95],
             ["originals/a.mp4", "copies/a chain & <odd>.mkv", 0.83]]
    rep = {"version": 1, "root": str(root), "settings": {"epsilon": 0.15, "model": "efficientnet_lite0"},
           "videos": infos, "groups": groups, "pairs": pairs,
           "skipped": [{"path": "links/l.mp4", "reason": "symlink to x: not scanned separately"}]}
    return root, rep


def test_html_is_self_contained_and_marks_keep(video_report, tmp_path):
    root, rep = video_report
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    out = write_html_report(rep, tmp_path / "review.html", frames_per_video=4)
    text = out.read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before  # read only
    # no reference to anything outside the page
    assert not re.search(r"""(src|href)\s*=\s*['"](?!data:|#)""", text)
    assert "url(" not in text and text.count("<script") == 2  # the page data and the inline script
    assert "</script" not in _page_data_text(text)  # no file name can end the data element
    assert text.count("data:image/jpeg;base64,") == 4 * 7
    assert "Kept: higher resolution (128x72 vs 64x36)" in text
    assert "Kept: longer (3.00 s vs 2.00 s)" in text
    assert "copies/a chain &amp; &lt;odd&gt;.mkv" in text and "<odd>" not in text
    assert ("Review only, never removed automatically: joined the group through other members"
            in text and "bad/broken.mp4" in text)
    with pytest.raises(ValueError, match="frames_per_video must be >= 1, got 0"):
        render_html_report(rep, frames_per_video=0)


def _page_data_text(text: str) -> str:
    return re.search(r"<script type='application/json' id='vdedup-data'>(.*?)</script>", text, re.S).group(1)


def page_data(text: str) -> dict:
    """The JSON the page's script reads (plan, files, similarities, words)."""
    return json.loads(_page_data_text(text))


def test_missing_file_gets_a_placeholder(video_report, tmp_path):
    root, rep = video_report
    rep = dict(rep, groups=[dict(rep["groups"][1], remove=["b/gone.mp4"],
                                 members=[{"path": "b/gone.mp4", "similarity_to_keep": 0.9}])])
    text = render_html_report(rep, frames_per_video=2)
    assert "No frames to show: cannot read file" in text
    assert text.count("data:image/jpeg;base64,") == 2


def _chromium() -> str:
    """Debian's chromium; `make test` installs it.  Missing tools fail the test, never skip it."""
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    assert os.path.exists(exe), "no chromium: run `make browser` (apt-get install -y chromium)"
    return exe


@pytest.mark.e2e
def test_html_renders_every_groups_frames_in_chromium(video_report, tmp_path):
    from playwright.sync_api import sync_playwright

    exe = _chromium()
    root, rep = video_report
    page_path = write_html_report(rep, tmp_path / "review.html", frames_per_video=5)
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            groups = page.evaluate("""() => [...document.querySelectorAll('section.group')].map(s => ({
                group: +s.dataset.group,
                members: [...s.querySelectorAll('.member')].map(m => ({
                    path: m.dataset.path, role: m.classList[1], frames: +m.dataset.frames,
                    imgs: m.querySelectorAll('img').length,
                    loaded: [...m.querySelectorAll('img')].filter(
                        i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length,
                    why: m.querySelector('.why').innerText}))}))""")
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        finally:
            browser.close()
    assert [g["group"] for g in groups] == [1, 2, 3]
    roles = [[(m["path"], m["role"]) for m in g["members"]] for g in groups]
    assert roles == [[("originals/a.mp4", "keep"), ("copies/a_small.mp4", "remove"),
                      ("copies/a chain & <odd>.mkv", "review")],
                     [("b/b.mp4", "keep"), ("b/b_short.avi", "remove")],
                     [("portrait/c.mp4", "keep"), ("portrait/c_copy.mp4", "remove")]]
    for g in groups:
        for m in g["members"]:
            assert m["frames"] == m["imgs"] == m["loaded"] == 5, (g["group"], m)
    assert groups[0]["members"][0]["why"].startswith("Kept: higher resolution (128x72 vs 64x36)")
    assert groups[1]["members"][0]["why"].startswith("Kept: longer (3.00 s vs 2.00 s)")
    assert not overflow  # nothing wider than the window
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert (tmp_path / "review.png").stat().st_size > 10_000


@pytest.mark.slow
def test_cli_scan_trash_html_then_undo(video_report, tmp_path, capsys):
    """End to end: `vdedup scan DIR --trash --html F --report R`, then `vdedup undo`."""
    from vdedup_lib.cli import main
    from vdedup_lib.deletion import MANIFEST_NAME, TRASH_DIR_NAME

    src, _ = video_report
    root = tmp_path / "videos"
    shutil.copytree(src, root)
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    # the default is a dry run: nothing moves
    assert main(["scan", str(root), "--no-progress", "--report", str(tmp_path / "r0.json")]) == 0
    assert not (root / TRASH_DIR_NAME).exists()
    capsys.readouterr()
    rc = main(["scan", str(root), "--no-progress", "--trash", "--html", str(tmp_path / "review.html"),
               "--report", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    rep = json.loads((tmp_path / "report.json").read_text())
    removed = [p for g in rep["groups"] for p in g["remove"]]
    assert removed, rep["groups"]  # the downscaled copies are found
    assert rc == 0 and f"Moved {len(removed)} file(s)" in out
    html_text = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert html_text.count("<section class='group'") == len(rep["groups"])
    run = next((root / TRASH_DIR_NAME).iterdir())
    now = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
           if p.is_file() and p.name != MANIFEST_NAME}
    assert now == {**{k: v for k, v in files.items() if k not in removed},
                   **{f"{TRASH_DIR_NAME}/{run.name}/{k}": files[k] for k in removed}}
    assert main(["undo", str(run)]) == 0
    now = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
           if p.is_file() and p.name != MANIFEST_NAME}
    assert now == files


def test_removed_member_gets_an_aligned_frame_strip(video_report):
    """Real frame verification of a -> a_small; the page shows the matched frames side by side."""
    from vdedup_lib.verify import TrackCache

    root, rep = video_report
    ev = TrackCache(root).verify("originals/a.mp4", "copies/a_small.mp4", 3.0, 3.0).to_dict()
    assert ev["verified"], ev["reason"]
    g0 = dict(rep["groups"][0])
    g0["members"] = [dict(g0["members"][0], verification=ev)] + g0["members"][1:]
    text = render_html_report(dict(rep, groups=[g0]), frames_per_video=2)
    m = re.search(r"<div class='aligned' data-path='copies/a_small.mp4' data-pairs='(\d+)'>(.*?)"
                  r"</div></div>", text, re.S)
    assert m, "no aligned strip for the removed member"
    k = int(m.group(1))
    assert len(ev["aligned"]) >= 3 and k == MAX_ALIGNED_PAIRS == 2  # both ends of the matched span
    strip = m.group(2)
    assert strip.count("data:image/jpeg;base64,") == k  # one image per pair: kept frame above
    for ta, tb in (ev["aligned"][0][:2], ev["aligned"][-1][:2]):
        assert f"keep 0:{ta:04.1f}" in strip and f"this 0:{tb:04.1f}" in strip
    assert text.count("class='aligned'") == 1  # only removed members with evidence get one


def test_page_data_carries_the_plan_and_the_facts_the_guards_need(video_report):
    from vdedup_lib.deletion import find_duplicates_to_remove

    root, rep = video_report
    rep = json.loads(json.dumps(rep))
    rep["groups"][0]["keep_reason"] = "the longest covered span"
    rep["groups"][0]["keep_step"] = "content"
    text = render_html_report(rep, frames_per_video=1)
    data = page_data(text)
    assert data["plan"] == find_duplicates_to_remove(rep).to_dict()
    members = {p for g in data["plan"]["groups"] for p in
               [g["keep"]] + [r["path"] for r in g["remove"]] + g["review"]}
    assert set(data["files"]) == members
    a = data["files"]["copies/a chain & <odd>.mkv"]
    assert (a["size_bytes"], a["mtime"]) == (os.stat(root / "copies/a chain & <odd>.mkv").st_size,
                                             os.stat(root / "copies/a chain & <odd>.mkv").st_mtime)
    assert ["copies/a_small.mp4", "copies/a chain & <odd>.mkv", 0.95] in data["similarities"]
    assert data["file_name"] == PLAN_FILE_NAME
    assert "decided by: content" in text  # the keep step, when the report names it


def _profile_browser(p, exe: str, tmp_path: Path):
    """Chromium with a profile of its own under ``tmp_path`` (downloads accepted)."""
    return p.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=exe, args=CHROMIUM_ARGS, accept_downloads=True,
        viewport={"width": 1360, "height": 900})


def _pick(page, path: str, what: str):
    return page.locator(f"section.group .member[data-path=\"{path}\"] input.{what}")


@pytest.mark.e2e
@pytest.mark.slow
def test_overrule_in_chromium_download_plan_apply_and_check_disk(tmp_path, capsys):
    """Real scan of an original and two copies, the page in Chromium: keep another file,
    untick a removal, download the plan, `vdedup apply` it, and look at the disk."""
    import cv2
    from playwright.sync_api import sync_playwright

    from vdedup_lib.cli import main
    from vdedup_lib.deletion import MANIFEST_NAME, TRASH_DIR_NAME, Plan, overrule

    exe = _chromium()
    root = tmp_path / "videos"
    frames = [photo_scene(0, t) for t in range(40)]
    make_clip(root / "orig/clip.mp4", 0, n=40)
    write_video(root / "copies/clip_small.mp4",
                [cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in frames])
    write_video(root / "copies/clip_short.mp4", frames[:30])
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["scan", str(root), "--no-progress", "--report", str(tmp_path / "report.json"),
                 "--html", str(tmp_path / "review.html")]) == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    assert len(rep["groups"]) == 1 and len(rep["groups"][0]["remove"]) == 2, rep["groups"]
    g = rep["groups"][0]
    keep, (new_keep, spared) = g["keep"], g["remove"]

    with sync_playwright() as p:
        ctx = _profile_browser(p, exe, tmp_path)
        try:
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((tmp_path / "review.html").as_uri())
            assert page.locator("#planbar").is_visible()
            assert _pick(page, keep, "remove-choice").is_disabled()  # the kept file cannot be ticked
            _pick(page, new_keep, "keep-choice").check()
            # swapped: the new kept file is not removable, the old one takes its place
            assert _pick(page, new_keep, "remove-choice").is_disabled()
            assert _pick(page, keep, "remove-choice").is_checked()
            _pick(page, spared, "remove-choice").uncheck()
            roles = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.member')]
                .map(m => [m.dataset.path, m.classList[1]]))""")
            assert roles == {new_keep: "keep", keep: "remove", spared: "stay"}
            assert page.locator("#plan-count").inner_text() == "1"
            assert "Changed by you: keep " + new_keep in page.locator("section.group .choice").inner_text()
            with page.expect_download() as dl:
                page.click("#plan-download")
            assert dl.value.suggested_filename == PLAN_FILE_NAME
            dl.value.save_as(tmp_path / PLAN_FILE_NAME)
        finally:
            ctx.close()
    assert not errors, errors
    downloaded = json.loads((tmp_path / PLAN_FILE_NAME).read_text())
    # the page's script wrote the group deletion.plan.overrule makes from the same choice
    data = page_data((tmp_path / "review.html").read_text(encoding="utf-8"))
    planned = Plan.from_dict(data["plan"])
    sims = {(a, b): s for a, b, s in data["similarities"]}
    expected = overrule(planned.groups[0], keep=new_keep, remove=[keep], videos=data["files"],
                        similarities=sims, where="on the review page")
    assert Plan.from_dict(downloaded) == Plan(root=planned.root, groups=[expected])
    assert downloaded["groups"][0]["remove"][0]["size_bytes"] == len(files[keep])

    capsys.readouterr()
    assert main(["apply", str(tmp_path / PLAN_FILE_NAME)]) == 0
    out = capsys.readouterr().out
    assert "Moved 1 file(s)" in out, out
    run = next((root / TRASH_DIR_NAME).iterdir())
    now = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
           if p.is_file() and p.name != MANIFEST_NAME}
    assert now == {new_keep: files[new_keep], spared: files[spared],
                   f"{TRASH_DIR_NAME}/{run.name}/{keep}": files[keep]}
    manifest = json.loads((run / MANIFEST_NAME).read_text())
    assert [(e["path"], e["kept"], e["state"]) for e in manifest["entries"]] == [(keep, new_keep, "done")]


@pytest.mark.e2e
def test_page_script_makes_the_plan_overrule_makes_and_refuses_unsafe_choices(video_report, tmp_path):
    """In Chromium, without a scan: tick a review member (odd name), find an unreadable
    member locked, reset a changed group; the page's plan is what ``overrule`` makes."""
    from playwright.sync_api import sync_playwright

    from vdedup_lib.deletion import Plan, overrule

    exe = _chromium()
    root, rep = video_report
    rep = json.loads(json.dumps(rep))
    rep["groups"][1]["review"] = ["bad/broken.mp4"]  # unreadable: no size, no modification time
    page_path = write_html_report(rep, tmp_path / "review.html", frames_per_video=1)
    odd = "copies/a chain & <odd>.mkv"
    with sync_playwright() as p:
        ctx = _profile_browser(p, exe, tmp_path)
        try:
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            assert not _pick(page, odd, "remove-choice").is_checked()
            _pick(page, odd, "remove-choice").check()
            assert _pick(page, "bad/broken.mp4", "remove-choice").is_disabled()
            assert _pick(page, "bad/broken.mp4", "keep-choice").is_disabled()
            _pick(page, "portrait/c_copy.mp4", "keep-choice").check()
            assert page.locator("#plan-edited").inner_text() == "2"
            page.click("#plan-reset")
            assert page.locator("#plan-edited").inner_text() == "0"
            assert _pick(page, "portrait/c.mp4", "keep-choice").is_checked()
            _pick(page, "b/b_short.avi", "remove-choice").uncheck()
            _pick(page, odd, "remove-choice").check()
            # the kept file's box cannot be ticked, even by a script that forces it
            page.evaluate("""() => { const b = document.querySelector(
                '.member[data-path="originals/a.mp4"] input.remove-choice');
                b.disabled = false; b.checked = true;
                b.dispatchEvent(new Event('change', {bubbles: true})); }""")
            plan = page.evaluate("window.vdedupPlan()")
        finally:
            ctx.close()
    assert not errors, errors
    data = page_data(page_path.read_text(encoding="utf-8"))
    planned = Plan.from_dict(data["plan"])
    sims = {(a, b): s for a, b, s in data["similarities"]}
    g1, g2, g3 = planned.groups
    expected = Plan(root=planned.root, groups=[
        overrule(g1, keep="originals/a.mp4", remove=["copies/a_small.mp4", odd], videos=data["files"],
                 similarities=sims, where="on the review page"),
        overrule(g2, keep="b/b.mp4", remove=[], videos=data["files"], similarities=sims,
                 where="on the review page"),
        g3])
    assert Plan.from_dict(plan) == expected
    assert [r.path for r in expected.groups[0].remove] == ["copies/a_small.mp4", odd]
    assert expected.groups[1].review == ["b/b_short.avi", "bad/broken.mp4"]


def test_possible_duplicates_and_compilations_get_a_section(video_report):
    """``report["possible_duplicates"]`` and ``["compilations"]`` (``grouping``) are shown
    with their reasons in one section; a report without them shows no section."""
    _, rep = video_report
    assert "Possible duplicates" not in render_html_report(rep, frames_per_video=1)
    extra = dict(rep, possible_duplicates=[{
        "paths": ["flat/a.mp4", "flat/<b>.mp4"], "similarity": 0.9964,
        "pairs": [{"a": "flat/a.mp4", "b": "flat/<b>.mp4", "similarity": 0.9964, "outcome": "blank",
                   "reason": "no informative frames to compare (blank video)"}]}],
        compilations=[{"path": "ab.mp4", "reason": "holds parts of two groups: 0:00.0-0:02.9 ...",
                       "parts": []}])
    text = render_html_report(extra, frames_per_video=1)
    start = text.index("<h2 id='possible-duplicates'>")
    section = text[start:text.index("</table></div>", start)]
    assert "flat/&lt;b&gt;.mp4" in section and "<b>.mp4" not in section
    assert "similarity 0.996" in section and "(blank video)" in section
    assert "ab.mp4</td><td>compilation</td><td>holds parts of two groups" in section
    assert "never removed" in section
