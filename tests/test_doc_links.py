"""The project's documents stay linked and self-contained.

(a) Every ``docs/semantics.md#…`` reference written in a text file of the repository names an anchor of
    ``docs/semantics.md`` (an explicit ``<a id="NAME"></a>`` or a heading's GitHub slug), and the
    stable anchors others cite are all there, each on the line right before its heading.
(b) Nothing cites the semantics document that used to live outside the repository (a section sign
    after the upper-case word, its ``.md`` file name, or the bare upper-case word as a document name).
(c) Every relative Markdown link in ``docs/*.md`` and ``README.md`` points to a file inside the
    repository (and a ``#fragment`` into a Markdown file to one of its anchors).

Plain standard library: it runs without numpy, torch or the engine.
"""

import re
from collections import Counter
from functools import cache
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "semantics.md"
THIS = Path(__file__).resolve()

# The anchors other files cite (docs/semantics.md#…): the list may grow, never shrink.
STABLE_ANCHORS = [
    "notation", "neurons", "firing", "charge-rules", "if", "lif", "plif", "qif", "eif", "izhikevich", "klif", "liaf",
    "cuba-lif", "bptt", "surrogates", "psn", "masked-psn", "sliding-psn", "layers", "encoders", "events",
    "event-formats", "frames", "tonic-frames", "frames-from-files", "models", "sew-resnet", "spikformer", "losses",
    "tet", "tcl", "pruning",
    "grad-r", "lats", "auto-spikformer", "f-aeb", "energy", "nir", "quantization", "stdp", "simple-neurons",
    "more-neurons", "online-training", "dsr", "mpbn", "conversion-neurons", "actor-neurons", "spiking-rnn",
    "thread-safety", "reader-limits", "sparse-synapses", "engine-threads", "mixed-precision", "nir-time-step",
    "nir-validation", "nir-on-the-gpu",
]

TEXT_SUFFIXES = {".py", ".rs", ".md", ".wgsl", ".toml", ".pyi"}
TEXT_NAMES = {"Makefile"}
TEXT_PATHS = {Path(".ci") / "run"}
SKIP_DIRS = {".git", "target", "build", "dist", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".eggs",
             ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# Beside a checkout, or copied into one: the shared data folder is not part of the project.
SKIP_TOP_DIRS = {"shared"}

EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
DOC_REFERENCE = re.compile(r"semantics\.md#([A-Za-z0-9_\-]+)")
# The old document: "<WORD> §n", "<WORD>.md", or the upper-case word on its own (as in "<WORD>'s sizes").
# Word boundaries keep SPECIFIC, FiringSpec, SurrogateSpec, NEURON_SPEC and the like out.
OUTSIDE_SPEC = re.compile(r"\bSPEC\b|\b[Ss]pec(?:\.md\b|\s*§)")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:|^//")


def _skipped_dir(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    if rel.parts and rel.parts[0] in SKIP_TOP_DIRS and len(rel.parts) == 1:
        return True
    name = path.name
    return name in SKIP_DIRS or name.endswith(".egg-info") or (path / "pyvenv.cfg").is_file()


def text_files():
    """Every text file of the repository worth scanning, as paths (sorted, so failures read in order)."""
    found = []

    def walk(directory: Path):
        for entry in sorted(directory.iterdir()):
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if not _skipped_dir(entry):
                    walk(entry)
            elif (entry.suffix in TEXT_SUFFIXES or entry.name in TEXT_NAMES
                  or entry.relative_to(ROOT) in TEXT_PATHS):
                found.append(entry)

    walk(ROOT)
    return found


def _lines(path: Path):
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _where(path: Path, number: int) -> str:
    return f"{path.relative_to(ROOT).as_posix()}:{number}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link targets and tags dropped, lower case, punctuation removed
    (letters, digits, spaces, '-' and '_' kept), spaces become '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]*>", "", text).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def _outside_fences(lines):
    """(line number, line) of the lines that are not inside fenced code blocks."""
    fence = None
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
                continue
            if marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
                continue
        if fence is None:
            yield number, line


@cache
def anchors(path: Path) -> frozenset:
    """The anchors of a Markdown file: explicit <a id>/<a name> tags and heading slugs (repeated
    slugs numbered -1, -2, ... as GitHub does)."""
    lines = _lines(path)
    found = set()
    for line in lines:
        found.update(EXPLICIT_ANCHOR.findall(line))
    seen = {}
    for _, line in _outside_fences(lines):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def test_the_semantics_document_exists():
    assert DOC.is_file(), "docs/semantics.md is missing"


def test_stable_anchors_are_explicit_and_right_before_their_heading():
    lines = _lines(DOC)
    explicit = [(name, number) for number, line in enumerate(lines, 1) for name in EXPLICIT_ANCHOR.findall(line)]
    names = Counter(name for name, _ in explicit)
    problems = [f"docs/semantics.md: stable anchor #{name} is missing (add <a id=\"{name}\"></a> before its "
                f"heading)" for name in STABLE_ANCHORS if name not in names]
    problems += [f"docs/semantics.md: anchor #{name} is defined {count} times" for name, count in names.items()
                 if count > 1]
    for name, number in explicit:
        following = lines[number] if number < len(lines) else ""
        if not HEADING.match(following):
            problems.append(f"{_where(DOC, number)}: anchor #{name} is not followed by a heading line")
    assert not problems, "\n".join(problems)


def test_every_reference_to_the_semantics_document_names_an_existing_anchor():
    known = anchors(DOC)
    problems = []
    for path in text_files():
        for number, line in enumerate(_lines(path), 1):
            for name in DOC_REFERENCE.findall(line):
                if name not in known:
                    problems.append(f"{_where(path, number)}: docs/semantics.md#{name} does not exist")
    assert not problems, (f"{len(problems)} reference(s) to missing anchors of docs/semantics.md:\n"
                          + "\n".join(problems))


def test_nothing_cites_the_outside_spec_document():
    problems = []
    for path in text_files():
        if path.resolve() == THIS:
            continue
        for number, line in enumerate(_lines(path), 1):
            if OUTSIDE_SPEC.search(line):
                problems.append(f"{_where(path, number)}: {line.strip()[:120]}")
    assert not problems, (f"{len(problems)} line(s) cite the out-of-tree spec; cite an anchor of "
                          "docs/semantics.md instead:\n" + "\n".join(problems))


def _markdown_files():
    return sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def _link_targets(path: Path):
    """(line number, target) of every inline or reference-style link outside code."""
    for number, line in _outside_fences(_lines(path)):
        text = INLINE_CODE.sub("", line)
        for target in INLINE_LINK.findall(text):
            yield number, target
        match = REFERENCE_LINK.match(text)
        if match:
            yield number, match.group(1)


def test_markdown_links_point_inside_the_repository():
    problems = []
    for path in _markdown_files():
        if not path.is_file():
            continue
        for number, target in _link_targets(path):
            if SCHEME.match(target):
                continue  # a URL (https:, mailto:, ...)
            file_part, _, fragment = target.partition("#")
            where = _where(path, number)
            if not file_part:
                if fragment and fragment not in anchors(path):
                    problems.append(f"{where}: #{fragment}: no such anchor in {path.name}")
                continue
            resolved = (path.parent / unquote(file_part)).resolve()
            try:
                resolved.relative_to(ROOT)
            except ValueError:
                problems.append(f"{where}: {target}: points outside the repository")
                continue
            if not resolved.exists():
                problems.append(f"{where}: {target}: no such file in the repository")
                continue
            if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                problems.append(f"{where}: {target}: no anchor #{fragment} in "
                                f"{resolved.relative_to(ROOT).as_posix()}")
    assert not problems, "broken Markdown links:\n" + "\n".join(problems)
