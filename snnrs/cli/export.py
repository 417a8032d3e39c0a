"""``snnrs export CHECKPOINT -o model.nir``: a checkpoint written by ``snnrs train`` as a NIR file."""

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("export", help="write a trained checkpoint as a NIR graph",
                       description="Rebuilds the model a `snnrs train` run saved (its config travels in the "
                       "checkpoint) and writes it as NIR (docs/semantics.md#nir).")
    p.add_argument("checkpoint", type=Path, help="best.pt or last.pt of a `snnrs train` run")
    p.add_argument("-o", "--output", type=Path, default=None, help="the .nir file (default: beside the checkpoint)")
    p.add_argument("--dt", type=float, default=1e-3, help="seconds per time step written into the graph")
    return p


def run(args):
    import torch

    from snnrs import export
    from snnrs.cli.train import build_model

    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"{args.checkpoint}: no such checkpoint")
    try:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    except Exception as e:  # foreign or damaged files raise several types
        raise ValueError(f"{args.checkpoint}: not a snnrs checkpoint ({str(e).splitlines()[0]})") from None
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        raise ValueError(f"{args.checkpoint}: no model config (only `snnrs train` checkpoints can be exported)")
    config = state["config"]
    try:
        model = build_model(config)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as e:
        raise ValueError(f"{args.checkpoint}: its config or weights do not describe a snnrs train model ({e})") \
            from None
    model.eval()
    output = args.output or args.checkpoint.with_suffix(".nir")
    export.write_nir(model, tuple(config["input_shape"]), output, dt=args.dt)
    print(f"wrote {output}")
