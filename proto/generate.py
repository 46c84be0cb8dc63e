"""Regenerate the Python code for every .proto file under proto/ (one command, never edit the output).

    python proto/generate.py          # rewrite proto/footfall/**/*_pb2*.py(i)
    python proto/generate.py --check  # exit 1 when the committed code is stale (CI)

Uses grpc_tools' bundled protoc and mypy-protobuf for typed stubs, so no system protoc is needed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("footfall/**/*.proto"))


def _run_protoc(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    bindir = Path(sys.executable).parent  # mypy-protobuf's plugins live beside the interpreter
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in _proto_files()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package in {p.parent.relative_to(PROTO_ROOT) for p in _proto_files()}:
        for parent in [package, *package.parents][:-1]:
            (out_dir / parent / "__init__.py").touch()


def _generated(root: Path) -> dict[Path, Path]:
    files = [p for p in root.glob("footfall/**/*") if p.name.endswith(GENERATED_SUFFIXES) or p.name == "__init__.py"]
    return {p.relative_to(root): p for p in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed generated code is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _run_protoc(out)
        fresh, current = _generated(out), _generated(PROTO_ROOT)
        stale = sorted(
            str(rel) for rel in fresh.keys() | current.keys()
            if rel not in fresh or rel not in current or not filecmp.cmp(fresh[rel], current[rel], shallow=False)
        )
        if args.check:
            if stale:
                print("generated code is stale, run `python proto/generate.py`:", *stale, sep="\n  ")
                return 1
            print(f"generated code is up to date ({len(fresh)} files)")
            return 0
        for rel in current.keys() - fresh.keys():
            current[rel].unlink()
        for rel, path in fresh.items():
            target = PROTO_ROOT / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        print(f"generated {len(fresh)} files under {PROTO_ROOT / 'footfall'}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
