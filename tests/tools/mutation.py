"""Mutation testing of the counting, dedup and journey code against each module's fast unit tests.

    .venv/bin/python tests/tools/mutation.py                 # every target below
    .venv/bin/python tests/tools/mutation.py lines zones     # some of them
    .venv/bin/python tests/tools/mutation.py --list lines    # the mutants, without running anything

Each mutant is one small change to one module's syntax tree (a comparison, an arithmetic or boolean operator,
a constant, a return value, min/max, break/continue). It runs in a forked child that imports that module from
the mutated source through an import hook: the files in the tree are never touched, so it is safe beside other
work in the same checkout. A mutant is killed when the module's tests fail (or hang past a multiple of their
normal time); the score is killed / all. Survivors are listed with their line: each is either a test to write or
a change that cannot be observed (an equivalent mutant), to be judged by reading it.

Like mutmut, with two differences that matter here: the package installs from a `package-dir` map (mutmut 3
mutates a copy under mutants/ that such an install never imports), and several people work in one checkout.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

#: name -> (module, its fast tests: pytest arguments). Only `claim` needs a server: PostgreSQL, started once
#: by this tool and handed to every run through FOOTFALL_TEST_DATABASE_URL (tests/conftest.py).
TARGETS: dict[str, tuple[str, list[str]]] = {
    "lines": ("footfall.services.vision.lines", ["tests/vision/test_lines.py", "tests/vision/test_line_edges.py"]),
    "zones": ("footfall.services.vision.zones", ["tests/vision/test_zones.py", "tests/vision/test_zone_edges.py"]),
    "occupancy_domain": ("footfall.services.occupancy.domain", ["tests/occupancy/test_domain.py",
                                                                "tests/occupancy/test_ledger_edges.py"]),
    "journeys": ("footfall.services.customers.journeys", ["tests/customers/test_journeys.py",
                                                          "tests/customers/test_mutants_journeys.py"]),
    "conversion": ("footfall.services.customers.conversion", ["tests/customers/test_journeys.py",
                                                              "tests/customers/test_mutants_conversion.py"]),
    "claim": ("footfall.services.core.idempotency", ["tests/core/test_platform.py", "tests/core/test_claims.py",
                                                     "-k", "claim"]),  # every test of test_claims.py, and one
}
NEEDS_DATABASE = {"claim"}


_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
           ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd}
_SKIPPED_FIELDS = {"annotation", "returns", "type_comment"}
_LOGGERS = {"log", "logger", "logging", "warnings"}
#: dataclass(slots=...) and field(repr=...) change memory layout and repr only: no test should pin them
_UNOBSERVABLE_KEYWORDS = {"slots", "repr"}


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    change: str


class _Mutator:
    """Walks a module in a fixed order; numbers every possible mutation; applies the one asked for."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.found: list[Mutant] = []

    def _site(self, node: ast.AST, change: str) -> bool:
        index = len(self.found)
        self.found.append(Mutant(index, getattr(node, "lineno", 0), change))
        return index == self.target

    def visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Expr) and _is_logging(node.value):
            return node  # log calls have no behaviour to test: nothing in them is mutated
        if isinstance(node, ast.keyword) and node.arg in _UNOBSERVABLE_KEYWORDS:
            return node
        node = self._mutate(node)
        for name, value in ast.iter_fields(node):
            if name in _SKIPPED_FIELDS:
                continue
            if isinstance(value, list):
                body = value
                if name == "body" and body and _is_docstring(body[0]):
                    body = body[1:]
                for item in body:
                    if isinstance(item, ast.AST):
                        new = self.visit(item)
                        value[value.index(item)] = new
            elif isinstance(value, ast.AST):
                setattr(node, name, self.visit(value))
        return node

    def _mutate(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                other = _COMPARE.get(type(op))
                if other and self._site(node, f"{type(op).__name__} -> {other.__name__}"):
                    node.ops[i] = other()
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            other = _BINARY.get(type(node.op))
            if other and self._site(node, f"{type(node.op).__name__} -> {other.__name__}"):
                node.op = other()
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            if self._site(node, f"{type(node.op).__name__} -> {other.__name__}"):
                node.op = other()
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            if self._site(node, f"drop {type(node.op).__name__}"):
                return node.operand
        elif isinstance(node, ast.Constant) and type(node.value) in (bool, int, float):
            value = node.value
            new = (not value) if isinstance(value, bool) else (1 if value == 0 else 0 if value == 1 else value + 1)
            if self._site(node, f"{value!r} -> {new!r}"):
                return ast.copy_location(ast.Constant(new), node)
        elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
            if self._site(node, "return None"):
                node.value = ast.Constant(None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            other = "max" if node.func.id == "min" else "min"
            if self._site(node, f"{node.func.id} -> {other}"):
                node.func = ast.Name(other, ast.Load())
        elif isinstance(node, ast.Break | ast.Continue):
            other = ast.Continue if isinstance(node, ast.Break) else ast.Break
            if self._site(node, f"{type(node).__name__} -> {other.__name__}"):
                return ast.copy_location(other(), node)
        return node


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_logging(node: ast.AST) -> bool:
    while isinstance(node, ast.Call | ast.Attribute):
        node = node.func if isinstance(node, ast.Call) else node.value
    return isinstance(node, ast.Name) and node.id in _LOGGERS


def mutants(source: str) -> list[Mutant]:
    mutator = _Mutator(None)
    mutator.visit(ast.parse(source))
    return mutator.found


def mutated_source(source: str, index: int) -> str:
    mutator = _Mutator(index)
    tree = mutator.visit(copy.deepcopy(ast.parse(source)))
    return ast.unparse(ast.fix_missing_locations(tree))


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, source: str, origin: str) -> None:
        self.source, self.origin = source, origin

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(compile(self.source, self.origin, "exec"), module.__dict__)  # noqa: S102 - the point of the tool


class _MutantFinder(importlib.abc.MetaPathFinder):
    """Serves `name` from `source` the first time anything imports it (before pytest collects a test)."""

    def __init__(self, name: str, source: str) -> None:
        self.name, self.source = name, source

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.origin:
                return importlib.util.spec_from_file_location(fullname, spec.origin,
                                                              loader=_MutantLoader(self.source, spec.origin))
        return None


def _warm(tests: list[str]) -> None:
    """Collect `tests` once in this process, then forget every module of this checkout: forked children start
    with pytest, its plugins and every library already imported, and import our own code afresh (the target
    from its mutated source). The generated protobuf modules stay: they may be registered only once."""
    import io

    import pytest

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main([*tests, "--collect-only", "-q", "-p", "no:cacheprovider"])
    ours = ("footfall", "customer_tracking_engine", "tests")
    for name in list(sys.modules):
        if name.split(".")[0] in ours and not name.startswith("footfall.v1"):
            del sys.modules[name]


def _run_tests(tests: list[str], module: str | None, source: str | None, timeout: float) -> tuple[str, float]:
    """'passed' / 'failed' / 'timeout' of `tests` in a forked child (with `module` from `source`)."""
    began = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: quiet, then pytest in-process
        code = 3
        try:
            if not os.environ.get("MUTATION_VERBOSE"):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
            if module and source is not None:
                sys.meta_path.insert(0, _MutantFinder(module, source))
            import pytest

            code = int(pytest.main([*tests, "-q", "-x", "-p", "no:cacheprovider", "-W", "ignore"]))
        finally:
            os._exit(code)
    deadline = began + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return ("passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"), time.monotonic() - began
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - began
        time.sleep(0.02)


@dataclass
class Outcome:
    target: str
    module: str
    mutants: int
    killed: int
    survivors: list[dict[str, object]]
    seconds: float

    @property
    def score(self) -> float:
        return self.killed / self.mutants if self.mutants else 1.0


def run_target(name: str, only: set[int] | None = None) -> Iterator[str | Outcome]:
    module, tests = TARGETS[name]
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin, module
    path = Path(spec.origin)
    source = path.read_text()
    found = mutants(source)
    lines = source.splitlines()
    os.chdir(ROOT)
    _warm(tests)
    baseline, took = _run_tests(tests, None, None, 600)
    if baseline != "passed":
        raise SystemExit(f"{name}: its tests fail without any mutant ({tests})")
    timeout = max(10.0, 5 * took)
    roundtrip, _ = _run_tests(tests, module, ast.unparse(ast.parse(source)), timeout)
    if roundtrip != "passed":  # the hook itself must be invisible, or every mutant would look killed
        raise SystemExit(f"{name}: its tests fail on the unmutated source loaded through the hook")
    began = time.monotonic()
    killed, survivors = 0, []
    for m in found:
        if only is not None and m.index not in only:
            continue
        result, _ = _run_tests(tests, module, mutated_source(source, m.index), timeout)
        if result == "passed":
            survivors.append({**asdict(m), "code": lines[m.line - 1].strip() if m.line else ""})
            yield f"  survived #{m.index} line {m.line}: {m.change}   | {lines[m.line - 1].strip()}"
        else:
            killed += 1
    total = len(found) if only is None else len(only & {m.index for m in found})
    yield Outcome(name, module, total, killed, survivors, round(time.monotonic() - began, 1))


def _line_ranges(text: str) -> list[range]:
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        ranges.append(range(int(low), int(high or low) + 1))
    return ranges


def _select(name: str, only: set[int] | None, lines: list[range] | None) -> set[int] | None:
    """The mutant numbers asked for by number and/or by line (None: all)."""
    if lines is None:
        return only
    spec = importlib.util.find_spec(TARGETS[name][0])
    assert spec and spec.origin
    on_lines = {m.index for m in mutants(Path(spec.origin).read_text()) if any(m.line in r for r in lines)}
    return on_lines if only is None else on_lines & only


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"some of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--list", action="store_true", help="print the mutants and run nothing")
    parser.add_argument("--only", type=lambda s: {int(i) for i in s.split(",")}, help="mutant numbers, e.g. 3,17")
    parser.add_argument("--lines", type=_line_ranges, help="only mutants on these lines, e.g. 320-600,700-720")
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args()
    names = args.targets or list(TARGETS)
    unknown = set(names) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; choose from {', '.join(TARGETS)}")
    if args.list:
        for name in names:
            spec = importlib.util.find_spec(TARGETS[name][0])
            assert spec and spec.origin
            for m in mutants(Path(spec.origin).read_text()):
                print(f"{name} #{m.index} line {m.line}: {m.change}")
        return 0
    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        if NEEDS_DATABASE & set(names) and not os.environ.get("FOOTFALL_TEST_DATABASE_URL"):
            from footfall.services.core.embedded import EmbeddedPostgres

            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="ffmut"))
            pg = stack.enter_context(EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True))
            os.environ["FOOTFALL_TEST_DATABASE_URL"] = pg.url
        _run_all(names, args.only, args.lines, outcomes)
    if args.json:
        args.json.write_text(json.dumps([{**asdict(o), "score": round(o.score, 4)} for o in outcomes], indent=1))
    return 0


def _run_all(names: list[str], only: set[int] | None, lines: list[range] | None, outcomes: list[Outcome]) -> None:
    for name in names:
        print(f"{name} ({TARGETS[name][0]} against {' '.join(TARGETS[name][1])})", flush=True)
        for item in run_target(name, _select(name, only, lines)):
            if isinstance(item, Outcome):
                outcomes.append(item)
                print(f"  score {item.killed}/{item.mutants} = {item.score:.1%} in {item.seconds}s", flush=True)
            else:
                print(item, flush=True)


if __name__ == "__main__":
    sys.exit(main())
