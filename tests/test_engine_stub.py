"""snnrs/_engine.pyi describes the built extension: mypy's stubtest compares every public
name, parameter, default and module attribute of `snnrs._engine` with the stub, so a
binding changed in Rust without the stub (or the reverse) fails here."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Only the stub is under test: the package around it (and torch behind that) is not
# analysed, which keeps the run to seconds. The cache goes to a temporary folder, not
# into the tree.
MYPY_CONFIG = """\
[mypy]
cache_dir = {cache_dir}
[mypy-snnrs,snnrs.*]
follow_imports = skip
"""


def test_stub_matches_the_built_extension(tmp_path):
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_CONFIG.format(cache_dir=tmp_path / "mypy_cache"))
    # No --ignore-missing-stub and no allowlist: every runtime name must be in the stub.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "snnrs._engine", "--mypy-config-file", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"stubtest found differences:\n{result.stdout}{result.stderr}"
