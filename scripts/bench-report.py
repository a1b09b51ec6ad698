#!/usr/bin/env python3
"""Reads criterion's estimates from target/criterion and prints each bar as a ratio to the
baseline measured in the same run (median, with the median absolute deviation as spread).

Run after: cargo bench --no-default-features --bench core -- --warm-up-time 1 --measurement-time 3
      and   cargo bench --no-default-features --bench lists
"""
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(
    os.environ.get("CARGO_TARGET_DIR", pathlib.Path(__file__).resolve().parent.parent / "target")
) / "criterion"


def estimate(bench: str):
    path = ROOT / bench / "new" / "estimates.json"
    if not path.exists():  # criterion names a lone bench_function "a/b" as "a_b"
        path = ROOT / bench.replace("/", "_") / "new" / "estimates.json"
    if not path.exists():
        return None
    e = json.loads(path.read_text())
    return e["median"]["point_estimate"], e["median_abs_dev"]["point_estimate"]


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


# (bar, measured, baseline, how the bar reads, predicate on (measured, baseline) medians)
BARS = [
    ("1 cached auth (Track)", "bar1/cached_authenticate", "bar1/baseline_hmac_map_governor",
     "≤ 1.25× baseline", lambda m, b: m <= 1.25 * b),
    ("2 uncached auth", "bar2/uncached_authenticate", "bar2/baseline_argon2_verify",
     "≤ 1.05× baseline", lambda m, b: m <= 1.05 * b),
    ("3 GET project", "bar3/manage_get_project", "bar3/baseline_auth_row_json",
     "≤ 3× baseline", lambda m, b: m <= 3 * b),
    ("4 C ABI", "bar4/opc_handle_get_projects", "bar4/manage_handle_get_projects",
     "≤ +1 µs", lambda m, b: m - b <= 1000),
    ("5 create reference", "bar5/create_reference_full_sync", "bar5/baseline_raw_insert_full_sync",
     "rate ≥ 0.8× baseline (time ≤ 1.25×)", lambda m, b: m <= 1.25 * b),
    ("5 list 10,000 references (GET /manage/references)", "lists_10000/manage_get_references",
     "lists_10000/floor_select_typed_json", "≤ 1.5× floor", lambda m, b: m <= 1.5 * b),
    ("5 page 1,000 vs page 1 of 1,000,000 references", "lists_1m/page_1000", "lists_1m/page_1",
     "≤ 1.2× page 1", lambda m, b: m <= 1.2 * b),
    ("6 10,000th id vs 2nd", "bar6/create_10000th_same_name", "bar6/create_2nd_same_name",
     "≤ 1.2× baseline", lambda m, b: m <= 1.2 * b),
    ("7 two threads vs one (1M decisions each)", "bar7_threads/two_threads_1M_each",
     "bar7_threads/one_thread_1M", "throughput ≥ 1.6× (time ≤ 1.25×)", lambda m, b: m <= 1.25 * b),
]

ABSOLUTE = [
    ("1 cached auth (Manage, with its per-call existence read)",
     "bar1_manage/cached_authenticate_manage", "≤ 5 µs", lambda m: m <= 5000),
    ("7 rate-limit decision", "bar7/rate_limit_decision", "≤ 100 ns", lambda m: m <= 100),
    ("8 open store, 100,000 clients", "bar8/open_store_100k_clients", "≤ 10 ms", lambda m: m <= 10e6),
]


def main() -> int:
    missing = 0
    print("| bar | measured (median ± MAD) | baseline (median ± MAD) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for name, m, b, target, ok in BARS:
        em, eb = estimate(m), estimate(b)
        if em is None or eb is None:
            print(f"| {name} | missing | missing | | {target} | |")
            missing += 1
            continue
        ratio = em[0] / eb[0]
        extra = f" (+{fmt(em[0] - eb[0])})" if name.startswith("4") else ""
        print(f"| {name} | {fmt(em[0])} ± {fmt(em[1])} | {fmt(eb[0])} ± {fmt(eb[1])} | "
              f"{ratio:.2f}×{extra} | {target} | {'yes' if ok(em[0], eb[0]) else 'NO'} |")
    for name, m, target, ok in ABSOLUTE:
        em = estimate(m)
        if em is None:
            print(f"| {name} | missing | | | {target} | |")
            missing += 1
            continue
        print(f"| {name} | {fmt(em[0])} ± {fmt(em[1])} | | | {target} | {'yes' if ok(em[0]) else 'NO'} |")
    mem = ROOT / "bar8-memory.txt"
    if mem.exists():
        b = int(mem.read_text().strip())
        print(f"| 8 cache of 100,000 credentials | {b / 2**20:.1f} MiB | | | ≤ 32 MiB | "
              f"{'yes' if b <= 32 * 2**20 else 'NO'} |")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
