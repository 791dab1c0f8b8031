"""``make bench``: every benchmark that exists, one report.

1. Generates the exports (reused when already there): ``--items`` for the read path (default 1M, the
   issue's) and ``--e2e-items`` for the end-to-end paths (default 20k: the local endpoint is moto, a
   Python server that takes ~1 ms of CPU per ~1 KB item, so 1M items would take hours on 2 cores).
2. Read path reference lines (items/s per core): ``gzip -dc | wc -l``, Python gunzip + split,
   json.loads, botocore serialization. (Phase 2 adds the restore job's read → validate → batch path.)
3. End to end into the same local endpoint (its own process), same data, in the same run: the seed's
   approach and dynamodump. (Phase 2 adds the restore job.) Client and server CPU are counted apart.
4. The write-rate budget on a real clock (counting sink; phase 2 runs it through the job).
5. Memory: peak RSS of a reader going through one 10 MB and one 1 GB data file (uncompressed), each
   in a fresh process; the reference streaming reader now, the job's reader in phase 2.

Writes the report to ``.bench/results/results.md`` and a plot to ``.bench/results/items-per-core.svg``.

    python -m benchmarks.run_all                      # defaults, < 10 minutes on 2 cores
    python -m benchmarks.run_all --items 10000000     # the issue's large run
    python -m benchmarks.run_all --only read,rate --items 50000
    python -m benchmarks.run_all --only memory --memory-large 100MB
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import baseline_dynamodump, baseline_seed, bench_memory, bench_rate_limit, bench_read_floor
from benchmarks.endpoint import local_endpoint
from benchmarks.generate_export import GeneratedExport, generate_export, parse_size
from benchmarks.measure import Result, table

SECTIONS = ("read", "e2e", "rate", "memory")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def export_for(items: int, items_per_file: int, root: Path) -> Path:
    """A generated export of ``items`` items under ``root``, generated unless already there."""
    out = root / f"items-{items}"
    manifests = list(out.rglob("manifest.json")) if out.exists() else []
    if manifests:
        tables = json.loads(manifests[0].read_text()).get("tables", {})
        if [t.get("item_count") for t in tables.values()] == [items]:
            print(f"reusing {out} ({items:,} items)", flush=True)
            return out
    print(f"generating {items:,} items into {out} ...", flush=True)
    started = time.monotonic()
    export: GeneratedExport = generate_export(out, items=items, items_per_file=items_per_file)
    print(
        f"generated {export.item_count:,} items, {len(export.data_files)} files, "
        f"{export.uncompressed_bytes / 1e6:,.0f} MB in {time.monotonic() - started:.0f}s",
        flush=True,
    )
    return out


def single_file_export(size: int, root: Path) -> Path:
    """An export with ONE data file of ``size`` uncompressed bytes, generated unless already there."""
    out = root / f"one-{size}b"
    summaries = list(out.rglob("manifest-summary.json")) if out.exists() else []
    if summaries and size <= json.loads(summaries[0].read_text())["billedSizeBytes"] < size + 10_000:
        print(f"reusing {out}", flush=True)
        return out
    print(f"generating one data file of {size / 1e6:,.0f} MB into {out} ...", flush=True)
    generate_export(out, file_bytes=size, progress=False)
    return out


def e2e_table(results: list[Result]) -> str:
    """Every path next to the first one (phase 2 puts the restore job first)."""
    reference = results[0]
    rows = [
        "| path | items | items/s (wall) | client CPU-s per 1M items | server CPU-s per 1M items | "
        "items/s, ratio to the first row | client CPU per item, ratio to the first row |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        server = float(r.extra.get("server_cpu_seconds", float("nan"))) / r.items * 1e6
        rows.append(
            f"| {r.name} | {r.items:,} | {r.items_per_second:,.0f} | {r.cpu_seconds_per_million:,.0f} | "
            f"{server:,.0f} | {r.items_per_second / reference.items_per_second:.2f}x | "
            f"{r.cpu_seconds_per_million / reference.cpu_seconds_per_million:.2f}x |"
        )
    return "\n".join(rows)


def svg_bars(results: list[Result], title: str) -> str:
    """Horizontal bars of items/s per core, log scale (the paths differ by 100x)."""
    width, left, bar, gap = 900, 330, 22, 8
    top = 40
    height = top + len(results) * (bar + gap) + 30
    values = [max(r.items_per_cpu_second, 1.0) for r in results]
    hi = math.log10(max(values) * 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><text x="10" y="20" font-size="14">{title}</text>'
    ]
    for i, (r, v) in enumerate(zip(results, values, strict=True)):
        y = top + i * (bar + gap)
        w = (width - left - 90) * math.log10(v) / hi
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{r.name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="#4a78b5"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{v:,.0f}</text>')
    parts.append(
        f'<text x="{left}" y="{height - 8}" fill="#555">items/s per core (log scale; CPU counted per path, '
        "see the tables)</text></svg>"
    )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000, help="read-path export size (default 1M)")
    parser.add_argument("--e2e-items", type=int, default=20_000, help="end-to-end export size (default 20k)")
    parser.add_argument("--items-per-file", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=100_000, help="lines for json.loads / botocore")
    parser.add_argument("--seed-workers", type=int, default=8, help="threads of the seed's approach")
    parser.add_argument("--rate-budget", type=float, default=2000)
    parser.add_argument("--rate-seconds", type=float, default=30)
    parser.add_argument("--memory-small", type=parse_size, default=parse_size("10MB"))
    parser.add_argument("--memory-large", type=parse_size, default=parse_size("1GB"))
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--exports", type=Path, default=Path(".bench/exports"))
    parser.add_argument("--results", type=Path, default=Path(".bench/results"))
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    started = time.monotonic()
    report = [
        "# Benchmark results",
        "",
        f"Taken {datetime.now(UTC).isoformat(timespec='seconds')} on {machine()}.",
        "Machine shared with other work while running: treat small differences as noise.",
        "",
    ]
    plotted: list[Result] = []

    if "read" in only:
        export = export_for(args.items, args.items_per_file, args.exports)
        print("read path reference lines ...", flush=True)
        reads = bench_read_floor.run(export, sample=args.sample)
        section = table(reads, reference=reads[0])
        report += [f"## Read path, {args.items:,}-item export (json.loads / botocore on a {args.sample:,}-line sample)",
                   "", section, ""]
        print(section, flush=True)
        plotted += reads

    if "e2e" in only:
        export = export_for(args.e2e_items, min(args.items_per_file, max(1, args.e2e_items // 10)), args.exports)
        results = []
        with local_endpoint() as endpoint:
            print(f"end to end: seed approach ({args.e2e_items:,} items) ...", flush=True)
            results.append(baseline_seed.run(export, endpoint, workers=args.seed_workers))
            endpoint.reset()
            print(f"end to end: dynamodump ({args.e2e_items:,} items) ...", flush=True)
            results.append(baseline_dynamodump.run(export, endpoint))
        section = e2e_table(results)
        report += [f"## End to end into the local endpoint, {args.e2e_items:,} items", "",
                   "Client CPU: the restoring process (and its children); server CPU: the moto server process.",
                   "", section, ""]
        print(section, flush=True)
        plotted += results

    if "rate" in only:
        print(f"write-rate budget, {args.rate_seconds:.0f} s per run ...", flush=True)
        runs = bench_rate_limit.run(args.rate_budget, seconds=args.rate_seconds)
        section = bench_rate_limit.report(runs)
        report += ["## Write-rate budget (real clock, counting sink)", "",
                   "Goal: achieved >= 90% of the budget, no 5-second window above 105%.", "", section, ""]
        print(section, flush=True)

    if "memory" in only:
        small = single_file_export(args.memory_small, args.exports)
        large = single_file_export(args.memory_large, args.exports)
        print("memory: peak RSS per data file ...", flush=True)
        section = bench_memory.report(bench_memory.run(small, large))
        report += ["## Memory: peak RSS reading one data file", "", section, ""]
        print(section, flush=True)

    report += ["## Not measured yet (phase 2)", "",
               "The restore job's own read → validate → batch path and its end-to-end restore, its reader in "
               "the memory benchmark, and the budget held through the job against the endpoint.", ""]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "results.md").write_text("\n".join(report))
    if plotted:
        (args.results / "items-per-core.svg").write_text(svg_bars(plotted, "Restore paths: items/s per core"))
    print(f"\nreport: {args.results / 'results.md'} (total {time.monotonic() - started:.0f}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
