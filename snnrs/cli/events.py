"""``snnrs events info FILE`` and ``snnrs events frames FILE -o frames.npy``."""

from pathlib import Path

import numpy as np


def add_parser(sub):
    p = sub.add_parser("events", help="inspect event files or integrate them into frames")
    action = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = action.add_parser("info", help="format, event count, duration, sensor extent, polarity balance")
    info.add_argument("file", type=Path)
    frames = action.add_parser("frames", help="integrate into frames (SpikingJelly's split by number or time)")
    frames.add_argument("file", type=Path)
    frames.add_argument("-o", "--output", type=Path, required=True, help=".npy file for the [T, 2, H, W] frames")
    frames.add_argument("--frames", type=int, default=10, help="number of frames T")
    frames.add_argument("--split-by", choices=["number", "time"], default="number")
    frames.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="sensor size (default: the recording's extent)")
    frames.add_argument("--plot", type=Path, default=None,
                        help="also draw the frames (ON - OFF on one colour scale, time spans in ms) as a PNG")
    frames.add_argument("--gif", type=Path, default=None, help="also write the frames as an animated GIF")
    frames.add_argument("--scatter", type=Path, default=None,
                        help="also draw an (x, y, t) scatter of the first tenth of the recording as a PNG")
    frames.add_argument("--force", action="store_true", help="replace existing output files")
    return p


def _read(path: Path):
    """(format, events); a missing file, a folder or a device is one line naming it (snnrs.events)."""
    from snnrs.events import detect_format, read_events
    return detect_format(path), read_events(path)


def _outputs(args) -> Path:
    """The .npy file the frames go to, checked with --plot before any work: not a folder, and not an
    existing file unless --force."""
    # numpy's convention: a name without the .npy suffix gets it (but a folder is a mistake, not a stem)
    written = args.output if args.output.suffix == ".npy" or args.output.is_dir() else Path(f"{args.output}.npy")
    for option, path in (("-o", written), ("--plot", args.plot), ("--gif", args.gif), ("--scatter", args.scatter)):
        if path is None:
            continue
        if path.is_dir():
            raise IsADirectoryError(f"{option} {path}: a folder; give a file name")
        if path.exists() and not args.force:
            raise FileExistsError(f"{option} {path}: exists; --force to replace it")
    return written


def run(args):
    written = _outputs(args) if args.action == "frames" else None
    fmt, ev = _read(args.file)
    if args.action == "info":
        print(f"file      {args.file}")
        print(f"format    {fmt}")
        print(f"events    {len(ev):,}")
        if len(ev):
            span = int(ev['t'][-1]) - int(ev['t'][0])
            print(f"time      {int(ev['t'][0])} .. {int(ev['t'][-1])} µs ({span / 1e6:.3f} s)")
            print(f"x, y      0..{int(ev['x'].max())}, 0..{int(ev['y'].max())}")
            on = int(np.count_nonzero(ev["p"]))
            print(f"polarity  {on:,} on, {len(ev) - on:,} off")
            if span > 0:
                print(f"rate      {len(ev) / (span / 1e6) / 1e6:.3f} Mev/s")
        return
    from snnrs.events import integrate_events_by_fixed_frames_number
    if len(ev) == 0:
        raise ValueError(f"{args.file}: no events to integrate")
    height, width = args.size or (int(ev["y"].max()) + 1, int(ev["x"].max()) + 1)
    frames = integrate_events_by_fixed_frames_number(ev, args.split_by, args.frames, height, width)
    from snnrs import atomic
    with atomic.atomic_path(written) as tmp, open(tmp, "wb") as f:
        np.save(f, frames)
    print(f"wrote {written}: frames {frames.shape}, {int(frames.sum()):,} events")
    if args.plot is None and args.gif is None and args.scatter is None:
        return
    from snnrs.events import plotting
    spans = _spans(ev, args)
    if args.plot is not None:
        plotting.plot_frames(frames, args.plot, spans, title=f"{args.file.name}: ON - OFF")
        print(f"wrote {args.plot}")
    if args.gif is not None:
        plotting.save_frames_gif(frames, args.gif, spans)
        print(f"wrote {args.gif}")
    if args.scatter is not None:
        plotting.plot_event_scatter(ev, args.scatter)
        print(f"wrote {args.scatter}")


def _spans(ev, args):
    """Each frame's (first, last) time in µs: its window's bounds (time split) or its events' (number split)."""
    from snnrs.events import frame_mode
    t = ev["t"]
    domain, lo, hi = frame_mode(frames_number=args.frames, split_by=args.split_by)(len(t), (int(t[0]), int(t[-1])))
    if domain == "time":
        return [(float(a), float(min(b, t[-1]))) for a, b in zip(lo, hi)]
    return [(float(t[a]), float(t[max(b - 1, a)])) if b > a else (float(t[min(a, len(t) - 1)]),) * 2
            for a, b in zip(lo.astype(int), hi.astype(int))]
