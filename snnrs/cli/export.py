"""``snnrs export CHECKPOINT -o model.nir``: a checkpoint written by ``snnrs train`` as a NIR file."""

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("export", help="write a trained checkpoint as a NIR graph",
                       description="Rebuilds the model a `snnrs train` run saved (its config travels in the "
                       "checkpoint) and writes it as NIR (docs/semantics.md#nir).")
    p.add_argument("checkpoint", type=Path, help="best.pt or last.pt of a `snnrs train` run")
    p.add_argument("-o", "--output", type=Path, default=None, help="the .nir file (default: beside the checkpoint)")
    p.add_argument("--dt", type=float, default=None,
                   help="seconds per time step written into the graph (default 1e-3; with --target, the target's)")
    p.add_argument("--target", choices=["snntorch"], default=None,
                   help="write a graph this reader runs as snnrs does (snnTorch assumes dt = 1e-4 s and reads IF "
                   "as a leaky neuron; docs/semantics.md#nir-time-step)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    return p


def run(args):

    from snnrs import export
    from snnrs.cli.train import build_model
    from snnrs.training import read_checkpoint

    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"{args.checkpoint}: no such checkpoint")
    output = args.output or args.checkpoint.with_suffix(".nir")
    if output.exists() and not args.force:
        raise FileExistsError(f"{output}: exists; --force to replace it, or -o another file")
    state = read_checkpoint(args.checkpoint)
    if not isinstance(state.get("config"), dict):
        raise ValueError(f"{args.checkpoint}: no model config (only `snnrs train` checkpoints can be exported)")
    config = state["config"]
    try:
        model = build_model(config)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as e:
        raise ValueError(f"{args.checkpoint}: its config or weights do not describe a snnrs train model ({e})") \
            from None
    model.eval()
    dt = 1e-3 if args.dt is None and args.target is None else args.dt
    export.write_nir(model, tuple(config["input_shape"]), output, dt=dt, target=args.target)
    print(f"wrote {output}")
