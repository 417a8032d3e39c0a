import os
import sys
import tempfile
from pathlib import Path

# torch.compile's on-disk caches can outlive a change of a custom op's schema; start clean.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="snnrs-inductor-"))

# `reference` and `conformance` are imported from the repository root (not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
