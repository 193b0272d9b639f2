#!/usr/bin/python3
"""Runs the ONNX project's own checker on exported FsdNet graphs.

    /usr/bin/python3 tools/onnx_check/check.py FILE_OR_DIR [...]

Every *.onnx file (folders are searched recursively) goes through onnx.checker.check_model(path, full_check=True),
which also runs shape inference with strict checks. Prints one line per file and a summary; exits 1 when any file
fails. Needs Debian's python3-onnx (apt-get install python3-onnx). tools/onnx_check/run.sh makes the files.
"""
import os
import sys

try:
    import onnx
except ImportError:
    sys.exit("python3-onnx is missing: apt-get install python3-onnx")


def files(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                for n in sorted(names):
                    if n.endswith(".onnx"):
                        yield os.path.join(root, n)
        else:
            yield a


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ok = bad = 0
    for path in files(sys.argv[1:]):
        try:
            onnx.checker.check_model(path, full_check=True)
            model = onnx.load(path)
            ops = sorted({n.op_type for n in model.graph.node})
            print(f"OK    {path}: opset {model.opset_import[0].version}, IR {model.ir_version}, {len(model.graph.node)} nodes ({', '.join(ops)})")
            ok += 1
        except Exception as e:  # the checker raises its own ValidationError and InferenceError
            print(f"FAIL  {path}: {type(e).__name__}: {e}")
            bad += 1
    print(f"onnx {onnx.__version__} checker (full_check=True): {ok} passed, {bad} failed")
    sys.exit(1 if bad or not ok else 0)


if __name__ == "__main__":
    main()
