"""Command line: ``vdedup scan DIR``, ``vdedup evaluate REPORT TRUTH``, ``vdedup sweep DIR TRUTH``,
``vdedup apply REPORT``, ``vdedup undo MANIFEST``, ``vdedup group SHARDS_DIR``,
``vdedup calibrate DIR``.

``python main.py DIR`` is ``vdedup scan DIR``.  A scan only reads: it prints
the groups (or writes ``--report``) and changes no file, unless ``--trash``
(move the proposed removals to ``DIR/.vdedup-trash/<time>/``) or
``--permanent --yes`` is given.  ``vdedup apply REPORT`` moves a saved
report's removals to the trash (``--dry-run`` only prints), and
``vdedup undo MANIFEST`` puts them back.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .config import PREFER_CHOICES, Config
from .pipeline import group_and_report, scan  # noqa: F401 (the CLI runs the library's pipeline)

COMMANDS = ("scan", "evaluate", "sweep", "apply", "undo", "group", "calibrate")


def _add_scan_options(p: argparse.ArgumentParser) -> None:
    d = Config()
    p.add_argument("videos_dir", type=Path, help="folder to scan (recursively)")
    p.add_argument("--epsilon", type=float, default=d.epsilon,
                   help=f"DBSCAN radius in cosine distance (default {d.epsilon})")
    p.add_argument("--extensions", default=",".join(d.extensions),
                   help="comma-separated extensions, case-insensitive")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="frames per CNN batch")
    p.add_argument("--embedding-size", type=int, default=None,
                   help="reduce embeddings to this many dimensions with PCA (default: native)")
    p.add_argument("--video-resize", type=int, default=d.video_resize,
                   help=f"CNN input side in pixels (default {d.video_resize})")
    p.add_argument("--seconds-between-frames", type=float, default=d.seconds_between_frames)
    p.add_argument("--max-frames", type=int, default=d.max_frames_per_video,
                   help="cap on sampled frames per video")
    p.add_argument("--min-frames", type=int, default=d.min_frames_per_video)
    p.add_argument("--min-samples", type=int, default=d.min_samples, help="DBSCAN min_samples")
    p.add_argument("--model", default=d.model, help="efficientnet_lite0 | resnet18 | resnet50")
    p.add_argument("--weights", type=Path, default=None, help="weights file for --model")
    p.add_argument("--flip-invariance", action="store_true",
                   help="average each frame's features with its mirror image's (2x CNN time; "
                        "off by default: verification tries the mirror)")
    p.add_argument("--device", default=d.device, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--num-workers", type=int, default=d.num_workers,
                   help="DataLoader decoding processes (default: one per core beyond the first)")
    p.add_argument("--precision", default=d.precision, choices=("auto", "fp32", "bf16"),
                   help="CNN arithmetic (default auto: bf16 where the hardware has it natively)")
    p.add_argument("--exact-sampling", action="store_true",
                   help="decode frames at the exact sample times with the fixed --max-frames cap "
                        "(default: nearest keyframes when they are dense, cap growing with duration)")
    p.add_argument("--cache", type=Path, default=None, dest="cache_dir",
                   help="embedding cache folder (default: the user cache folder, or $VDEDUP_CACHE_DIR)")
    p.add_argument("--grouping", default=d.grouping, choices=("auto", "dense", "graph"),
                   help="neighbour graph: dense N x N matrix, sparse FAISS graph, or auto by "
                        "folder size (default)")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the embedding cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--keep-in", type=Path, action="append", default=[], metavar="DIR", dest="keep_in",
                   help="reference folder (repeatable): its files are always kept, never removed")
    p.add_argument("--prefer", default=d.prefer, choices=PREFER_CHOICES,
                   help="which file of a group to keep: quality (the ranked keep rule, default), "
                        "or oldest / newest (modification time), largest, shortest-path")


def _add_action_options(p: argparse.ArgumentParser, *, default_acts: bool) -> None:
    """Options of ``scan`` and ``apply`` that move or delete the proposed removals."""
    g = p.add_argument_group(
        "acting on the duplicates" + ("" if default_acts else " (default: dry run, nothing changes)"))
    if default_acts:
        g.add_argument("--dry-run", action="store_true",
                       help="only print what would happen; change nothing")
    else:
        g.add_argument("--trash", action="store_true",
                       help="move the files proposed for removal to the trash folder "
                            "(undo with `vdedup undo MANIFEST`)")
    from .io_utils import TRASH_DIR_NAME

    g.add_argument("--trash-dir", type=Path, default=None,
                   help=f"trash folder (default DIR/{TRASH_DIR_NAME}); each run gets a "
                        "<timestamp> folder in it with a manifest")
    g.add_argument("--permanent", action="store_true",
                   help="delete the files for good instead of moving them (needs --yes)")
    g.add_argument("--yes", action="store_true", help="confirm --permanent")
    g.add_argument("--html", type=Path, default=None,
                   help="write a self-contained HTML review page (thumbnails of every group)")


def _check_action_args(parser: argparse.ArgumentParser, args: argparse.Namespace, root) -> None:
    """Refuse bad action options before any long work."""
    from .deletion import resolve_trash_base

    if getattr(args, "trash", False) and args.permanent:
        parser.error("--trash and --permanent exclude each other")
    if args.permanent and not args.yes and not getattr(args, "dry_run", False):
        parser.error("--permanent deletes files for good: add --yes to confirm "
                     "(or use the trash, which `vdedup undo` can reverse)")
    try:
        resolve_trash_base(root, args.trash_dir)
    except (ValueError, NotADirectoryError) as e:
        parser.error(str(e))


def _act(report, args: argparse.Namespace, *, act: bool, mover=None) -> int:
    """Plan from ``report`` (a report dict or a ``Plan``) and apply it (or, with ``act``
    False, a dry run).  ``mover`` goes to ``apply_plan`` (default: the real move)."""
    from .deletion import Plan, apply_plan, find_duplicates_to_remove

    plan = report if isinstance(report, Plan) else find_duplicates_to_remove(
        report, min_similarity=getattr(args, "min_similarity", None))
    try:
        res = apply_plan(plan, mode="permanent" if args.permanent else "trash",
                         trash_dir=args.trash_dir, dry_run=not act, confirm_permanent=args.yes,
                         mover=mover)
    except (KeyboardInterrupt, OSError) as e:
        what = "interrupted" if isinstance(e, KeyboardInterrupt) else f"error: {e}"
        print(f"vdedup: {what}", file=sys.stderr)
        for note in getattr(e, "__notes__", []):
            print(note, file=sys.stderr)
        return 130 if isinstance(e, KeyboardInterrupt) else 2
    scan_dry_run = not act and args.command == "scan"
    print(res.format(only_problems=scan_dry_run))
    if scan_dry_run and res.done:
        print("To act on it: rerun with --trash (undo with `vdedup undo`), or save --report "
              "and run `vdedup apply REPORT.json`.")
    return 0 if (res.ok or not act) else 1


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    """``scan --engine local|ray``: where the frames are sampled and embedded."""
    g = p.add_argument_group("engine (where frames are sampled and embedded)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: Ray Data tasks and actors "
                        "(needs pip install 'vdedup[ray]'; one GPU per actor where Ray has GPUs)")
    g.add_argument("--ray-address", default=None,
                   help="Ray cluster address (default: start a local Ray)")
    g.add_argument("--shards", type=Path, default=None,
                   help="new or empty folder to keep the Ray engine's Parquet shards in "
                        "(regroup later with `vdedup group SHARDS`; default: a temporary folder)")


def _add_group_parser(sub) -> None:
    grp = sub.add_parser("group", help="group the Parquet shards of `scan --engine ray --shards DIR`")
    grp.add_argument("shards_dir", type=Path, help="folder of shards and vdedup-shards.json")
    grp.add_argument("--epsilon", type=float, default=None,
                     help="DBSCAN radius in cosine distance (default: the scan's)")
    grp.add_argument("--min-samples", type=int, default=None, help="default: the scan's")
    grp.add_argument("--embedding-size", type=int, default=None,
                     help="reduce embeddings with PCA (default: the scan's)")
    grp.add_argument("--report", type=Path, default=None, help="write the JSON report here")


def _run_engine(parser: argparse.ArgumentParser, args: argparse.Namespace, config: Config):
    """``(report, embeddings)`` from the engine ``args.engine`` names."""
    if args.engine == "local":
        if args.ray_address or args.shards:
            parser.error("--ray-address and --shards need --engine ray")
        return scan(config, progress=not args.no_progress)
    from .engines import ray_scan

    return ray_scan(config, shards_dir=args.shards, address=args.ray_address,
                    progress=not args.no_progress)


def _group(args: argparse.Namespace) -> int:
    from .engines import group_shards
    from .report import format_summary, write_report

    changes = {k: v for k, v in (("epsilon", args.epsilon), ("min_samples", args.min_samples),
                                 ("embedding_size", args.embedding_size)) if v is not None}
    report, _ = group_shards(args.shards_dir, **changes)
    if args.report:
        write_report(report, args.report)
        print(f"Wrote {args.report} ({len(report['videos'])} files, {len(report['groups'])} groups).")
    else:
        print(format_summary(report))
    return 0


def config_from_args(args: argparse.Namespace) -> Config:
    """Config with CLI flags overriding the defaults."""
    return Config(videos_dir=args.videos_dir,
                  extensions=tuple(e.strip() for e in args.extensions.split(",") if e.strip()),
                  batch_size=args.batch_size, embedding_size=args.embedding_size,
                  video_resize=args.video_resize, epsilon=args.epsilon,
                  seconds_between_frames=args.seconds_between_frames,
                  max_frames_per_video=args.max_frames,
                  min_frames_per_video=min(args.min_frames, args.max_frames),
                  model=args.model, weights=args.weights,
                  flip_invariant=args.flip_invariance, device=args.device,
                  num_workers=args.num_workers, min_samples=args.min_samples,
                  precision=args.precision, keyframe_sampling=not args.exact_sampling,
                  use_cache=not args.no_cache, cache_dir=args.cache_dir, grouping=args.grouping,
                  prefer=args.prefer, keep_in=tuple(args.keep_in))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vdedup", description="Find duplicate videos with a pretrained CNN and DBSCAN. "
        "Scanning never changes a file.")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="scan a folder and report duplicate groups")
    _add_scan_options(scan)
    scan.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    _add_action_options(scan, default_acts=False)
    _add_engine_options(scan)
    _add_group_parser(sub)
    ev = sub.add_parser("evaluate", help="score a report against a truth CSV (path,group)")
    ev.add_argument("report", type=Path)
    ev.add_argument("truth", type=Path)
    sw = sub.add_parser("sweep", help="scan once, then score a range of epsilon values")
    _add_scan_options(sw)
    sw.add_argument("truth", type=Path, help="truth CSV (path,group)")
    sw.add_argument("--epsilons", default="0.02:0.40:0.01",
                    help="start:stop:step (inclusive) or comma-separated values")
    apply = sub.add_parser(
        "apply", help="move a saved report's proposed removals to the trash (--dry-run: only print)")
    apply.add_argument("report", type=Path, help="report JSON from `vdedup scan --report` (or a plan)")
    apply.add_argument("--min-similarity", type=float, default=None,
                       help="also hold back members less similar than this to the kept file")
    _add_action_options(apply, default_acts=True)
    undo = sub.add_parser("undo", help="restore the files of a trash manifest to where they were")
    undo.add_argument("manifest", type=Path,
                      help="vdedup-manifest.json, or the trash run folder holding it")
    undo.add_argument("--dry-run", action="store_true", help="only print what would be restored")
    _add_calibrate_parser(sub)
    return parser


def _add_calibrate_parser(sub) -> None:
    from .evaluation.synthetic import CALIBRATION_TRANSFORMS

    cal = sub.add_parser(
        "calibrate", help="suggest an epsilon from synthetic copies of your own videos (made with "
        "ffmpeg in a temporary folder; DIR is only read)",
        description="Suggest an epsilon for DIR from synthetic copies of a sample of its videos. "
        "The suggestion is for `vdedup scan --epsilon`, on the fused distance the scan cuts "
        "(embeddings propose, frames confirm); the value on the pooled-embedding distance (a scan "
        "without frame verification) is shown next to it.")
    _add_scan_options(cal)
    cal.add_argument("--videos", type=int, default=8, help="how many of DIR's videos to sample")
    cal.add_argument("--seed", type=int, default=0, help="seed of the deterministic sample")
    cal.add_argument("--transforms", default=None,
                     help=f"comma-separated transforms (default: {','.join(CALIBRATION_TRANSFORMS)})")
    cal.add_argument("--plot", type=Path, default=None,
                     help="write a histogram of the two distance distributions here (PNG)")


def _calibrate(config: Config, args: argparse.Namespace) -> int:
    from .evaluation import CALIBRATION_TRANSFORMS, calibrate

    transforms = (tuple(t.strip() for t in args.transforms.split(",") if t.strip())
                  if args.transforms else CALIBRATION_TRANSFORMS)
    try:
        res = calibrate(config.videos_dir, n_videos=args.videos, transforms=transforms,
                        seed=args.seed, config=config, progress=not args.no_progress)
    except RuntimeError as e:  # ffmpeg failed on a transform: the message names it and the file
        print(f"vdedup: error: {e}", file=sys.stderr)
        return 2
    print(res.format())
    if args.plot:
        from .plots.clustering import plot_calibration

        fig = plot_calibration(res)
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=100, bbox_inches="tight")
        print(f"Wrote {args.plot}")
    return 0


def _parse_epsilons(text: str) -> list:
    if ":" in text:
        a, b, s = (float(x) for x in text.split(":"))
        n = int(round((b - a) / s)) + 1
        return [round(a + i * s, 6) for i in range(n)]
    return [float(x) for x in text.split(",")]


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "evaluate":
            from .evaluation import evaluate_report, format_scores, read_truth
            from .report import read_report

            s = evaluate_report(read_report(args.report), read_truth(args.truth))
            print(format_scores(s))
            return 0
        if args.command == "undo":
            from .deletion import undo

            try:
                res = undo(args.manifest, dry_run=args.dry_run)
            except KeyboardInterrupt:
                print("vdedup: undo interrupted; run it again to finish", file=sys.stderr)
                return 130
            print(res.format())
            return 0 if res.ok else 1
        if args.command == "apply":
            from .deletion import load_plan_and_report

            # a plan file carries no report: the page is drawn from the plan's own evidence
            plan, report = load_plan_and_report(args.report, min_similarity=args.min_similarity)
            _check_action_args(parser, args, plan.root)
            if args.html:
                from .html_report import write_html_report

                write_html_report(report, args.html, plan=plan)
                print(f"Wrote {args.html}")
            return _act(plan, args, act=not args.dry_run)
        if args.command == "group":
            return _group(args)
        config = config_from_args(args)
        if not config.videos_dir.is_dir():
            parser.error(f"videos_dir is not a folder: {str(config.videos_dir)!r}")
        if args.command == "calibrate":
            return _calibrate(config, args)
        t0 = time.perf_counter()
        if args.command == "scan":
            from .report import format_summary, write_report

            _check_action_args(parser, args, config.videos_dir)
            if args.trash:
                config = config.replace(delete_files=True)
            report, _ = _run_engine(parser, args, config)
            report["scan_seconds"] = round(time.perf_counter() - t0, 3)
            if args.report:
                write_report(report, args.report)
                n = len(report["groups"])
                print(f"Wrote {args.report} ({len(report['videos'])} files, {n} groups, "
                      f"{report['scan_seconds']:.1f} s).")
            else:
                print(format_summary(report))
            if args.html:
                from .html_report import write_html_report

                write_html_report(report, args.html)
                print(f"Wrote {args.html}")
            act = config.delete_files or args.permanent
            if act or any(g["remove"] for g in report["groups"]):
                print()
                return _act(report, args, act=act)
            return 0
        if args.command == "sweep":
            from .encoder import encode_videos
            from .evaluation import choose_epsilon, read_truth, sweep_epsilon

            truth = read_truth(args.truth)
            emb = encode_videos(config=config, progress=not args.no_progress)
            rows = sweep_epsilon(emb, truth, _parse_epsilons(args.epsilons),
                                 min_samples=config.min_samples)
            print(f"{'epsilon':>8} {'groups':>6} {'precision':>9} {'recall':>7} {'F1':>6} {'wrong_del':>9}")
            for r in rows:
                print(f"{r['epsilon']:8.3f} {r['n_groups']:6d} {r['precision']:9.3f} "
                      f"{r['recall']:7.3f} {r['f1']:6.3f} {r['wrong_deletions']:9d}")
            print(f"chosen epsilon (middle of the widest best-F1 run): {choose_epsilon(rows):.3f}")
            return 0
    except (ValueError, FileNotFoundError, NotADirectoryError, ImportError) as e:
        print(f"vdedup: error: {e}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
