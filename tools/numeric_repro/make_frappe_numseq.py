#!/usr/bin/env python3
"""Frappe as CSV with numeric and sequence columns, for the numeric-feature parity runs (issue 26).

Reads the libFM split in ../shared/data/frappe and writes train/valid/test CSVs to OUT (never into the
repository: Frappe may not be redistributed). Columns:
  label, user, item, daytime, weekday, isweekend, homework, cost, weather, country, city   (tokens: libFM index)
  item_pop   log1p(number of train rows with this item)           numeric
  user_act   log1p(number of train rows of this user)             numeric
  user_items the user's most frequent positive items in train, '^'-joined, the row's own item left out,
             at most 20, most frequent first (ties: smaller index first)                     sequence
  item_tags  1 to 4 of 18 tags per item, a fixed function of the item (MovieLens' genres in shape)   sequence
  user_level one of 1, 18, 25, 35, 45, 50, 56 by the user's train activity (MovieLens' age in shape) numeric
Counts come from train only, so validation and test are encoded as a model in production would see them.

    python3 tools/numeric_repro/make_frappe_numseq.py OUT [--data ../shared/data/frappe]
"""
import argparse, collections, gzip, math, os

FIELDS = [("user", 0, 956), ("item", 957, 5038), ("daytime", 5039, 5045), ("weekday", 5046, 5052),
          ("isweekend", 5053, 5054), ("homework", 5055, 5057), ("cost", 5058, 5059), ("weather", 5060, 5068),
          ("country", 5069, 5148), ("city", 5149, 5381)]
SEQ_LEN = 20


def read(path):
    rows = []
    with gzip.open(path, "rt") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            label = 1 if float(parts[0]) > 0 else 0
            toks = [int(p.split(":")[0]) for p in parts[1:]]
            by_field = {}
            for t in toks:
                for name, lo, hi in FIELDS:
                    if lo <= t <= hi:
                        by_field[name] = t
            if len(by_field) != len(FIELDS):
                raise SystemExit(f"{path}:{n}: expected one token per field, got {toks}")
            rows.append((label, by_field))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/frappe"))
    a = ap.parse_args()
    splits = {s: read(os.path.join(a.data, f"frappe.{s}.libfm.gz")) for s in ("train", "validation", "test")}
    train = splits["train"]
    item_n = collections.Counter(r["item"] for _, r in train)
    user_n = collections.Counter(r["user"] for _, r in train)
    pos = collections.defaultdict(collections.Counter)
    for y, r in train:
        if y == 1:
            pos[r["user"]][r["item"]] += 1
    ranked = {u: [i for i, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))] for u, c in pos.items()}
    levels = [1, 18, 25, 35, 45, 50, 56]
    by_act = sorted(user_n, key=lambda u: (user_n[u], u))
    level = {u: levels[min(len(levels) - 1, k * len(levels) // len(by_act))] for k, u in enumerate(by_act)}

    def tags(item):
        h = (item * 2654435761) % 2 ** 32
        return sorted({(h >> (5 * j)) % 18 for j in range(1 + h % 4)})

    os.makedirs(a.out, exist_ok=True)
    names = {"train": "train", "validation": "valid", "test": "test"}
    for split, rows in splits.items():
        with open(os.path.join(a.out, f"{names[split]}.csv"), "w") as f:
            f.write("label," + ",".join(n for n, _, _ in FIELDS) + ",item_pop,user_act,user_items,item_tags,user_level\n")
            for y, r in rows:
                seq = [i for i in ranked.get(r["user"], []) if i != r["item"]][:SEQ_LEN]
                f.write(f"{y}," + ",".join(str(r[n]) for n, _, _ in FIELDS)
                        + f",{math.log1p(item_n[r['item']]):.6f},{math.log1p(user_n[r['user']]):.6f},"
                        + "^".join(map(str, seq)) + ","
                        + "^".join(f"g{t}" for t in tags(r["item"])) + f",{level.get(r['user'], 1)}\n")
        print(f"{names[split]}.csv: {len(rows)} rows")


if __name__ == "__main__":
    main()
