"""The package is layered: imports (function-level ones included) point down only.

Walks every module of ``vdedup_lib`` with ``ast``, so an import hidden inside a
function counts as much as one at the top.  Fails on a cycle, on a library
module importing the command line, and on an import that climbs a layer; the
message names the modules and the line.
"""
import ast
import functools
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "vdedup_lib"

#: Layer of each top-level module or package (lower layers never import higher ones).
#: report sits below pipeline: ``pipeline.group_and_report`` builds the report.
LAYERS = {
    "config": 0, "io_utils": 0, "device": 0,
    "dataset": 1, "sampling": 1, "sampling_plan": 1, "listing": 1, "thumbnails": 1,
    "encoder": 2, "cnn": 2, "cache": 2,
    "clustering": 3, "verify": 3, "tracks": 3, "alignment": 3, "insets": 3, "takes": 3, "verified": 3, "keep": 3,
    "grouping": 3,
    "report": 4,
    "pipeline": 5,
    "evaluation": 6, "scoring": 6, "synthetic": 6, "calibration": 6, "studies": 6,
    "deletion": 7,
    "cli": 8, "html_report": 8, "plots": 8, "widgets": 8, "engines": 8, "exercises": 8,
    }
FACES = {"cli"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list:
    """``[(imported vdedup_lib module, line)]`` for every import in the file."""
    mod = _module_name(path)
    is_pkg = path.name == "__init__.py"
    package = mod if is_pkg else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("vdedup_lib"):
                continue
            if node.module is None or target == "vdedup_lib":
                # ``from . import x``: x may be a module of the package
                for a in node.names:
                    cand = f"{target}.{a.name}"
                    sub = PKG.parent / Path(*cand.split("."))
                    if sub.with_suffix(".py").exists() or (sub / "__init__.py").exists():
                        out.append((cand, node.lineno))
                continue
            out.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("vdedup_lib.")]
    return out


@functools.lru_cache(maxsize=1)
def _graph() -> dict:
    g = {}
    for path in sorted(PKG.rglob("*.py")):
        mod = _module_name(path)
        g[mod] = [(t, line, path) for t, line in _imports(path) if t != mod]
    return g


def _top(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in _graph() if _top(m) and _top(m) not in LAYERS})
    assert not missing, f"modules without a layer in tests/test_architecture.py LAYERS: {missing}"


def test_no_import_cycles():
    keys = set(_graph())
    g = {m: [t for t, _, _ in edges if t in keys] for m, edges in _graph().items()
         if m != "vdedup_lib"}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in g.get(m, ()):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_point_down_and_no_library_module_imports_the_cli():
    bad = []
    for mod, edges in _graph().items():
        src = _top(mod)
        if not src:
            continue  # vdedup_lib/__init__.py: lazy names only
        for target, line, path in edges:
            dst = _top(target)
            if dst == src or not dst:
                continue
            if dst in FACES:
                bad.append(f"{path.name}:{line} {mod} imports the command line ({target})")
            elif LAYERS.get(dst, 99) > LAYERS.get(src, -1):
                bad.append(f"{path.name}:{line} {mod} (layer {LAYERS.get(src)}) imports "
                           f"{target} (layer {LAYERS.get(dst)})")
    assert not bad, "imports that climb:\n" + "\n".join(bad)


def test_the_walker_sees_function_level_imports(tmp_path):
    # the walker itself: an import inside a function is found with its line
    found = _imports(PKG / "pipeline.py")
    assert any(t == "vdedup_lib.encoder" for t, _ in found), found


def test_no_module_over_700_lines():
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert not long, f"modules over 700 lines: {long}"
