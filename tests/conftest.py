import sys
from pathlib import Path

# `reference` and `conformance` are imported from the repository root (not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
