"""Scraper benchmark: items/s at concurrency 1, 8, 32 against a local gallery that answers 50 ms
late, and resident memory along a 100k-item crawl. Loopback only.

    .venv/bin/python bench/scrape.py --json bench/results/scrape.json
    .venv/bin/python bench/scrape.py --memory-items 20000      # a shorter memory run
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scraping.bench import memory_rows, throughput_rows
from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--memory-items", type=int, default=100_000,
                        help="items in the memory run (0 skips it)")
    args = parser.parse_args()

    throughput = throughput_rows(latency_s=args.latency_ms / 1000)
    report(f"scrape: items/s vs concurrency ({args.latency_ms:g} ms server latency, "
           "2 requests per item)",
           ["concurrency", "items", "kept", "requests", "seconds", "items_per_s",
            "ideal_items_per_s"], throughput,
           json_path=args.json if not args.memory_items else None)
    if not args.memory_items:
        return
    samples, totals = memory_rows(items=args.memory_items)
    report(f"scrape: resident memory along a {args.memory_items}-item gallery crawl "
           f"(peak {totals['peak_rss_mb']:.0f} MB, {totals['seconds']:.0f} s, dedupe pass "
           f"{totals['dedupe_s']:.1f} s; perceptual hashing included)",
           ["items", "rss_mb", "seconds"], samples, json_path=args.json,
           extra={"throughput": throughput, "memory": totals,
                  "notes": "tiny 64x64 PNGs, fully hashed (sha256 + perceptual) and deduplicated; "
                           "server in its own process on 127.0.0.1"})


if __name__ == "__main__":
    main()
