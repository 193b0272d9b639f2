"""Reference values for FuxiCTR's data/tiny_emb/{train,valid,test}.parquet (demo example8), for the tests of
FsdNet's Parquet page reader (tests/FsdNet.Tests/Data/ParquetPageReaderTests.cs).

No Parquet library is used, so the values do not come from the code under test. These files were written by
Arrow2 with one ZSTD-compressed data page v2 per column chunk, chunks in schema order (feat1 float, feat2 float,
feat3 list<double> of 96, label double) and no nulls. In data page v2 only the values are compressed (the levels
come before them, uncompressed), so each ZSTD frame in the file decompresses to exactly the PLAIN values of one
column: little-endian float32 or float64. The script finds the frames by their magic number, decompresses them
with the zstd command-line tool and checks that every size is what the layout above implies.

    /usr/bin/python3 tools/golden/tiny_emb_golden.py [FuxiCTR checkout]   (default /work/ref/reczoo+FuxiCTR)
    -> tests/FsdNet.Tests/Golden/fuxictr/tiny_emb.json
"""
import json
import os
import struct
import subprocess
import sys

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def frames(data):
    """Decompressed ZSTD frames of a Parquet file, in file order (each frame ends before the next one starts)."""
    footer_len = struct.unpack("<i", data[-8:-4])[0]
    footer_start = len(data) - 8 - footer_len
    starts = []
    i = data.find(ZSTD_MAGIC)
    while 0 <= i < footer_start:
        starts.append(i)
        i = data.find(ZSTD_MAGIC, i + 1)
    out = []
    for s, e in zip(starts, starts[1:] + [footer_start]):
        p = subprocess.run(["zstd", "-d", "-c", "-q"], input=data[s:e], capture_output=True)
        out.append(p.stdout)
    return out


def split(path):
    f1, f2, f3, label = frames(open(path, "rb").read())
    rows = len(label) // 8
    assert len(label) == 8 * rows and len(f1) == 4 * rows and len(f2) == 4 * rows and len(f3) == 8 * 96 * rows, path
    feat1 = list(struct.unpack(f"<{rows}f", f1))
    feat2 = list(struct.unpack(f"<{rows}f", f2))
    feat3 = list(struct.unpack(f"<{rows * 96}d", f3))
    lab = list(struct.unpack(f"<{rows}d", label))
    vec = [feat3[96 * r:96 * (r + 1)] for r in range(rows)]
    return {
        "rows": rows,
        "feat1": feat1,
        "feat2": feat2,
        "label": lab,
        "feat3_first_rows": vec[:2],
        "feat3_last_row": vec[-1],
        "feat3_row_sums": [sum(v) for v in vec],
    }


def main():
    fuxi = sys.argv[1] if len(sys.argv) > 1 else "/work/ref/reczoo+FuxiCTR"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = {"source": "FuxiCTR data/tiny_emb (Apache-2.0), values decoded with the zstd CLI, no Parquet library"}
    for name in ("train", "valid", "test"):
        out[name] = split(os.path.join(fuxi, "data", "tiny_emb", f"{name}.parquet"))
    dst = os.path.join(repo, "tests", "FsdNet.Tests", "Golden", "fuxictr", "tiny_emb.json")
    with open(dst, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(dst, {k: v["rows"] for k, v in out.items() if isinstance(v, dict)})


if __name__ == "__main__":
    main()
