#!/usr/bin/env python3
"""Bytes per training step and memory per rank of FsdNet's data-parallel training (docs/DISTRIBUTED.md).

The counting rules are those of FsdNet.Distributed.Communicator.BytesSent (the payload each rank hands to MPI):
  ordered all-reduce of n floats, small (n * (R - 1) <= 65536): all-gather, n * (R - 1) floats sent
  ordered all-reduce, large: all-to-all of the parts then all-gather of its own part: (n - own) + own * (R - 1)
  the step's loss, stop flag and bucket check (3 doubles) all-gathered and summed in rank order: 24 (R - 1) bytes
  all-to-all: what goes to the other ranks (a rank's own part is not sent)
A step of FSDNet sends: every gradient (an ordered all-reduce per bucket of gradient_bucket_mb, 1 MB by default, whose
parts path sends what one packed buffer would, up to the rounding of the parts: exactly so on 2 ranks), 4 BatchNorm reductions of width w per
BatchNorm layer (mean and variance forward, sum of dy and of dy * x-hat backward), and the loss.
With row-sharded tables the tables leave that all-reduce; per step a rank then also sends T ints to each peer
(how many ids of each table it asks that owner for), the ids it asks other ranks for (int32), the rows other ranks
asked it for and the gradients of the rows it asked for (dim floats each), and the shards' penalty and squared
gradient norm (2 doubles, all-gathered).

Usage: distributed_model.py check <parameters> <bn widths comma-separated> <ranks> <measured bytes per step>
       distributed_model.py check-sharded <replicated parameters> <bn widths> <ranks> <tables> <dim> <steps>
                                          <ids asked of other ranks> <ids served to them> <measured bytes per step>
       distributed_model.py table
"""
import sys

SMALL = 1 << 16
BYTES = 4


def part(total, rank, size):
    return total * (rank + 1) // size - total * rank // size


def ordered(n, ranks, rank=0):
    """Floats sent by one rank for an ordered all-reduce of n floats."""
    if ranks == 1:
        return 0
    if n * (ranks - 1) <= SMALL:
        return n * (ranks - 1)
    own = part(n, rank, ranks)
    return (n - own) + own * (ranks - 1)


def replicated_step(params, bn_widths, ranks, rank=0):
    """Bytes rank `rank` sends in one step with every table replicated (what FsdNet does today)."""
    if ranks == 1:
        return 0
    floats = ordered(params, ranks, rank) + sum(4 * ordered(w, ranks, rank) for w in bn_widths)
    loss = 24 * (ranks - 1)
    return floats * BYTES + loss


def exchange_step(tables, dim, ranks, asked, served):
    """Bytes one rank sends per step for its row-sharded tables, given the ids it asked other ranks for and served to
    them in that step: the counts, the ids, the rows served, the gradients of the rows asked, the shards' 2 doubles."""
    return 4 * tables * (ranks - 1) + 4 * asked + dim * BYTES * (served + asked) + 16 * (ranks - 1)


def sharded_step(dense, dim, fields, batch, bn_widths, ranks):
    """Bytes per rank and step with row-sharded tables for the table below: this rank's batch/R rows look up fields ids
    each; (R-1)/R of them live on other ranks and are asked for, and it serves as many. No de-duplication of repeated
    ids assumed: an upper bound (measured on the synthetic Criteo slice, distinct ids are a fraction of lookups)."""
    lookups = batch / ranks * fields * (ranks - 1) / ranks
    return exchange_step(fields, dim, ranks, lookups, lookups) + replicated_step(dense, bn_widths, ranks)


def replicated_memory(params):
    """Training state per rank: parameters, gradients, Adam's two moments, the packed gradient buffer and the
    ordered sum's receive buffer (about one more copy): 6 floats per parameter."""
    return 6 * params * BYTES


def sharded_memory(dense, rows, dim, ranks, fields, batch):
    """A shard of each table with its gradient and Adam moments (4 floats per row element), the dense part as
    replicated, and the exchange buffers (rows in, gradients out)."""
    return 4 * rows * dim * BYTES / ranks + replicated_memory(dense) + 2 * batch / ranks * fields * dim * BYTES


def human(b):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.1f} {unit}"
    return f"{b:.0f} B"


def table():
    dense, dim, fields = 1_746_275, 16, 39      # FSDNet criteo preset: cross 3 x 624, DNN [400, 400, 400], FSD heads
    bn = [400, 400, 400]
    cases = [
        ("Criteo_x4", 900_000, 4_096),           # ~900k ids after min_categr_count 10; the preset's batch
        ("Criteo 1TB", 900_000_000, 65_536),     # ~900M ids (the figure); a batch sized for 64 ranks
    ]
    link = 10e9   # bytes/s one rank can push: about 80% of 100 Gb/s InfiniBand
    for name, rows, batch in cases:
        params = dense + rows * dim
        print(f"\n{name}: {rows:,} ids x {dim} = {rows * dim:,} table parameters + {dense:,} dense; global batch {batch:,}\n")
        print("| ranks | replicated: sent/step/rank | replicated: memory/rank | row-sharded: sent/step/rank | row-sharded: memory/rank |"
              " at 10 GB/s (100 Gb/s InfiniBand): replicated / row-sharded ms per step |")
        print("|---|---|---|---|---|---|")
        for ranks in (2, 8, 16, 32, 64):
            rs = replicated_step(params, bn, ranks)
            ss = sharded_step(dense, dim, fields, batch, bn, ranks)
            print(f"| {ranks} | {human(rs)} | {human(replicated_memory(params))} | {human(ss)} | "
                  f"{human(sharded_memory(dense, rows, dim, ranks, fields, batch))} | {rs / link * 1e3:,.1f} / {ss / link * 1e3:.1f} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        params, widths, ranks, measured = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        bn = [int(w) for w in widths.split(",") if w]
        predicted = replicated_step(params, bn, ranks)
        print(f"model: {predicted:,} bytes per step on rank 0 of {ranks}; measured {measured:,.0f}; "
              f"ratio {measured / predicted:.6f}")
        return 0 if abs(measured - predicted) <= 1e-6 * predicted + 1 else 1
    if len(sys.argv) > 1 and sys.argv[1] == "check-sharded":
        params, widths, ranks, tables, dim, steps = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        asked, served, measured = int(sys.argv[8]), int(sys.argv[9]), float(sys.argv[10])
        bn = [int(w) for w in widths.split(",") if w]
        total = steps * replicated_step(params, bn, ranks) + exchange_step(tables, dim, ranks, asked, served) + exchange_step(tables, dim, ranks, 0, 0) * (steps - 1)
        predicted = total / steps
        print(f"model: {predicted:,.0f} bytes per step on rank 0 of {ranks} ({asked / steps:,.0f} ids asked, {served / steps:,.0f} served per step); "
              f"measured {measured:,.0f}; ratio {measured / predicted:.6f}")
        return 0 if abs(measured - predicted) <= 1e-6 * predicted + 1 else 1
    table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
