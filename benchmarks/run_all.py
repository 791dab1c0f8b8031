"""``make bench``: every benchmark that exists, one report.

1. Generates the exports (reused when already there): ``--items`` for the read path (default 1M, the
   issue's) and ``--e2e-items`` for the end-to-end paths (default 20k: the local endpoint is moto, a
   Python server that takes ~1 ms of CPU per ~1 KB item, so 1M items take about an hour for the three paths on 2 cores:
   ``--only e2e --e2e-items 1000000``).
2. Read path (items/s per core): ``gzip -dc | wc -l`` (the floor), Python gunzip + split, the
   restore job's own read → validate → batch path into a counting sink, json.loads, botocore
   serialization; ratios to the floor.
3. Write path: the job's ``write_data_file`` (S3 GET + MD5 + read + batch + signed BatchWriteItem,
   4 requests in flight) into an HTTP sink (``--write-files`` data files of the read export), with the lean
   transport and with botocore's call path: the client's CPU per item.
4. End to end into the same local endpoint (its own process), same data, in the same run: the restore
   job (glue_jobs/restore_job.py on Spark local[*]), the seed's approach and dynamodump. Client and
   server CPU are counted apart.
5. The write-rate budget on a real clock: counting sink, the job's writer against the endpoint, and
   the restore job itself with ``--max_write_rate`` (counted at the wire by a forwarding proxy).
6. Memory: peak RSS of the job's reader going through one 10 MB and one 1 GB data file
   (uncompressed), each in a fresh process.
7. A small table's RTO (``--lambda-items``, default 5,000): the time to the first and to the last
   written item through the Restore Lambda's handler and through the restore job, side by side.
8. Time travel (``bench_time_travel``): a restore to a point from a full export + 4 windows next to
   the plain full restore (client CPU per item), and rewinds of 1,000 changed keys on tables of
   2,000 and 8,000 items (items read and written per changed key).
9. A table that is gone (``--import-items``, default 5,000): ImportTable versus the write path,
   wall time and client CPU, with the caveat that the local endpoint is not DynamoDB.

Writes the report to ``.bench/results/results.md`` and a plot to ``.bench/results/items-per-core.svg``.

    python -m benchmarks.run_all                      # defaults, < 10 minutes on 2 cores
    python -m benchmarks.run_all --items 10000000     # the issue's large run
    python -m benchmarks.run_all --only read,rate --items 50000
    python -m benchmarks.run_all --only memory --memory-large 100MB
    python -m benchmarks.run_all --only write --write-files 100
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

from benchmarks import (
    baseline_dynamodump,
    baseline_seed,
    bench_import,
    bench_job,
    bench_lambda,
    bench_memory,
    bench_rate_limit,
    bench_read_floor,
    bench_time_travel,
    bench_transport,
)
from benchmarks.endpoint import local_endpoint
from benchmarks.generate_export import GeneratedExport, generate_export, parse_size
from benchmarks.measure import Result, table

SECTIONS = ("read", "write", "e2e", "rate", "memory", "lambda", "timetravel", "import")
JOB_READER = "benchmarks.bench_job:job_reader_lines"


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
        f"{model}, {os.cpu_count()} logical cores (nproc), {memory_total()}, Python {platform.python_version()}, "
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


MIXED_FILE_ITEMS = (4000, 2000, 1000, 700, 500, 300, 200, 100, 100, 50, 25, 1, 0, 0, 0)
"""The mixed export of the rate runs: a few large data files, many small ones and empty ones (real
exports have one or more files per partition, an empty file for an empty partition)."""


def rate_export(kind: str, items: int, root: Path) -> tuple[Path, str]:
    """The export for one rate run: ``items`` in data files of ``kind`` items, or the mixed one."""
    if kind == "mixed":
        out = root / "rate-mixed"
        if not list(out.rglob("manifest.json")):
            generate_export(out, file_items=MIXED_FILE_ITEMS, progress=False)
        sizes = sorted({n for n in MIXED_FILE_ITEMS}, reverse=True)
        label = f"{len(MIXED_FILE_ITEMS)} mixed data files ({', '.join(f'{n:,}' for n in sizes)} items)"
        return out, label
    per_file = int(kind)
    out = root / f"rate-{items}-by-{per_file}"
    if not list(out.rglob("manifest.json")):
        generate_export(out, items=items, items_per_file=per_file, progress=False)
    return out, f"{-(-items // per_file)} data files of {per_file:,} items"


def load() -> str:
    """The machine's load while the benchmark ran (it is shared)."""
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return "load unknown"
    return f"load average {one} / {five} / {fifteen} (1 / 5 / 15 min)"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    return "RAM unknown"


def e2e_table(results: list[Result]) -> str:
    """Every path next to the first one (the restore job)."""
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000, help="read-path export size (default 1M)")
    parser.add_argument("--e2e-items", type=int, default=20_000, help="end-to-end export size (default 20k)")
    parser.add_argument(
        "--write-files", type=int, default=20, help="data files of the read export for the write path"
    )
    parser.add_argument(
        "--write-repeats", type=int, default=3, help="runs of the job's write path; the median is kept"
    )
    parser.add_argument(
        "--endpoint-rate-budget", type=float, default=500, help="items/s, below what moto takes"
    )
    parser.add_argument(
        "--job-rate-budget", type=float, default=300, help="--max_write_rate of the job's rate run"
    )
    parser.add_argument(
        "--rate-job-items", type=int, default=9_000, help="items the job restores at the budget (0: skip)"
    )
    parser.add_argument(
        "--rate-file-items",
        default="100,500,10000,mixed",
        help="the job's rate runs: items per data file, comma-separated ('mixed': a mix of sizes and empty files)",
    )
    parser.add_argument(
        "--lambda-items", type=int, default=5000, help="the small table of the Lambda-vs-job RTO run"
    )
    parser.add_argument(
        "--import-items", type=int, default=5000, help="the missing table of the ImportTable-vs-writes run"
    )
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
        f"Machine shared with other work while running; at the start: {load()}. Treat small differences as noise.",
        "",
    ]
    plotted: list[Result] = []

    if "read" in only:
        export = export_for(args.items, args.items_per_file, args.exports)
        print("read path reference lines ...", flush=True)
        reads = bench_read_floor.run(export, sample=args.sample)
        print("read path: the job's read → validate → batch ...", flush=True)
        files = bench_read_floor.data_files(export)
        job = bench_job.read_path(files)
        reads[2:2] = [job] + (
            [] if bench_job.inflate.ENGINE.startswith("zlib") else [bench_job.read_path(files, "zlib")]
        )
        section = table(reads, reference=reads[0])
        floor, python_split = reads[0], reads[1]
        section += (
            f"\n\nThe job's read → validate → batch path: {job.items_per_cpu_second:,.0f} items/s per core = "
            f"{job.items_per_cpu_second / floor.items_per_cpu_second:.2f}x `gzip -dc | wc -l` and "
            f"{job.items_per_cpu_second / python_split.items_per_cpu_second:.2f}x Python's gunzip + split "
            "(goal: >= 0.5x the decompression rate)."
        )
        report += [
            f"## Read path, {args.items:,}-item export (json.loads / botocore on a {args.sample:,}-line sample)",
            "",
            section,
            "",
        ]
        print(section, flush=True)
        plotted += reads

    if "write" in only:
        export = export_for(args.items, args.items_per_file, args.exports)
        with local_endpoint():
            print(f"write path: uploading {export} to the local endpoint's S3 (untimed) ...", flush=True)
            bench_job.upload_export(export, bench_job.make_client("s3"))
            print(f"write path: the job's write_data_file over {args.write_files} data files ...", flush=True)
            writes = bench_job.write_path(
                export, max_files=args.write_files, seed_workers=args.seed_workers, repeats=args.write_repeats
            )
        floor_rows = [r for r in plotted if r.name.startswith(("gzip", "python gzip"))]
        validate, lean = writes[0], writes[1]
        botocore_path = next(r for r in writes if "botocore call path" in r.name)
        seed = [r for r in writes if r.name.startswith("seed")]
        # Every row's ratio to the decompression rate (Python's gunzip + split), the goal's reference.
        section = table(writes + floor_rows, reference=floor_rows[1] if len(floor_rows) > 1 else lean)
        spread = (
            f" (median of {lean.extra['runs']} runs; {lean.extra['per_core_min']:,} to {lean.extra['per_core_max']:,})"
            if "runs" in lean.extra
            else ""
        )
        both = 1e6 / (lean.cpu_seconds_per_million + validate.cpu_seconds_per_million)
        section += (
            f"\n\nThe lean transport takes {botocore_path.cpu_seconds_per_million / lean.cpu_seconds_per_million:.1f}x less "
            "client CPU per item than botocore's call path for the same bodies"
            + (
                f", and {seed[0].cpu_seconds_per_million / lean.cpu_seconds_per_million:.1f}x less than the "
                "seed's approach into the same sink"
                if seed
                else ""
            )
            + ". **The write stage** (S3 GET of the validated version + gunzip + check + batch + sign + send) "
            f"runs at **{lean.items_per_cpu_second:,.0f} items/s per core**{spread}"
            + (", i.e. " if floor_rows else "")
            + " and ".join(
                f"{lean.items_per_cpu_second / row.items_per_cpu_second:.2f}x {label}"
                for row, label in zip(
                    floor_rows, ("`gzip -dc | wc -l`", "Python's gunzip + split"), strict=False
                )
            )
            + (
                " (goal: >= 0.5x the decompression rate: "
                + (
                    "met)."
                    if lean.items_per_cpu_second >= 0.5 * floor_rows[1].items_per_cpu_second
                    else "NOT met)."
                )
                if len(floor_rows) > 1
                else "."
            )
            + f" The validation stage, the job's separate pass before any write (S3 GET + MD5 + gunzip + check + "
            f"count), runs at {validate.items_per_cpu_second:,.0f} items/s per core; both stages together: "
            f"{both:,.0f} items/s per core"
            + (
                f" = {both / floor_rows[1].items_per_cpu_second:.2f}x Python's gunzip + split."
                if len(floor_rows) > 1
                else "."
            )
        )
        print("write path: client CPU per call of each way of sending ...", flush=True)
        section += "\n\n" + bench_transport.report(bench_transport.run(2000))
        report += [
            f"## Write path: the job's per-file writer into an HTTP sink ({lean.items:,} items)",
            "",
            "The sink (benchmarks/http_sink.py) answers at once and keeps connections alive, as DynamoDB "
            "does; S3 GETs come from the local endpoint. CPU: this process (all its threads).",
            "",
            section,
            "",
        ]
        print(section, flush=True)
        plotted += writes

    if "e2e" in only:
        export = export_for(
            args.e2e_items, min(args.items_per_file, max(1, args.e2e_items // 10)), args.exports
        )
        results = []
        with local_endpoint() as endpoint:
            print(f"end to end: the restore job ({args.e2e_items:,} items) ...", flush=True)
            results.append(bench_job.restore_job(export, endpoint))
            endpoint.reset()
            print(f"end to end: seed approach ({args.e2e_items:,} items) ...", flush=True)
            results.append(baseline_seed.run(export, endpoint, workers=args.seed_workers))
            endpoint.reset()
            print(f"end to end: dynamodump ({args.e2e_items:,} items) ...", flush=True)
            results.append(baseline_dynamodump.run(export, endpoint))
        section = e2e_table(results)
        job = results[0]
        workers = float(job.extra["python_worker_cpu_seconds"])
        section += (
            f"\n\nThe restore job's client CPU is its whole process tree ({job.extra['processes']} processes): "
            f"Python workers {workers:,.1f} s ({workers / job.items * 1e6:,.0f} CPU-s per 1M items), JVM "
            f"{float(job.extra['jvm_cpu_seconds']):,.1f} s, the rest the driver; Spark's start-up is a fixed cost "
            "that a small run cannot amortize."
        )
        report += [
            f"## End to end into the local endpoint, {args.e2e_items:,} items",
            "",
            "Client CPU: the restoring process (and its children; for the job its whole process tree, "
            "polled from /proc); server CPU: the moto server process.",
            "",
            section,
            "",
        ]
        print(section, flush=True)
        plotted += results

    if "rate" in only:
        runs = []
        if args.rate_seconds > 0:  # 0: only the restore job's runs
            print(f"write-rate budget, {args.rate_seconds:.0f} s per run ...", flush=True)
            runs += bench_rate_limit.run(args.rate_budget, seconds=args.rate_seconds)
            with local_endpoint():
                print(
                    f"write-rate budget through BatchWriter into the local endpoint, {args.rate_seconds:.0f} s ...",
                    flush=True,
                )
                runs.append(
                    bench_rate_limit.run_endpoint_budget(args.endpoint_rate_budget, seconds=args.rate_seconds)
                )
        job_runs = []
        for kind in (
            [k.strip() for k in args.rate_file_items.split(",") if k.strip()] if args.rate_job_items else []
        ):
            # At least 3 files of the largest size: 2 tasks at once, one file more than they hold.
            items = max(args.rate_job_items, 3 * int(kind)) if kind != "mixed" else 0
            rate_root, label = rate_export(kind, items, args.exports)
            with local_endpoint() as endpoint:
                print(f"write-rate budget through the restore job ({label}) ...", flush=True)
                job_runs.append(
                    bench_rate_limit.run_job_budget(rate_root, endpoint, args.job_rate_budget, label=label)
                )
            print(bench_rate_limit.report(job_runs[-1:]), flush=True)
        runs += job_runs
        section = bench_rate_limit.report(runs)
        if job_runs:
            smallest = job_runs[0]
            section += f"\n\nItems at the wire per second, {smallest.name}:\n\n" + ", ".join(
                str(n) for n in smallest.per_second
            )
        report += [
            "## Write-rate budget (real clock: counting sink, then the job's writer into the local endpoint)",
            "",
            "Goal: achieved >= 90% of the budget, no 5-second window above 105%.",
            "",
            section,
            "",
        ]
        print(section, flush=True)

    if "memory" in only:
        small = single_file_export(args.memory_small, args.exports)
        large = single_file_export(args.memory_large, args.exports)
        print("memory: peak RSS per data file ...", flush=True)
        section = bench_memory.report(bench_memory.run(small, large, reader=JOB_READER), reader=JOB_READER)
        report += ["## Memory: peak RSS reading one data file", "", section, ""]
        print(section, flush=True)

    if "lambda" in only:
        small = export_for(args.lambda_items, max(1, args.lambda_items // 5), args.exports)
        with local_endpoint() as endpoint:
            print(
                f"small table: Restore Lambda handler and restore job ({args.lambda_items:,} items) ...",
                flush=True,
            )
            section = bench_lambda.report(bench_lambda.run(small, endpoint))
        report += [
            f"## A small table's RTO ({args.lambda_items:,} items): Restore Lambda vs restore job",
            "",
            section,
            "",
        ]
        print(section, flush=True)

    if "timetravel" in only:
        print("time travel: restore to a point (full + windows) and rewinds of changed keys ...", flush=True)
        section = bench_time_travel.run(5000, 4, 500, [2000, 8000], 1000)
        report += [
            "## Time travel: restore to a point, rewind (issue 13)",
            "",
            "Goals: client CPU per item of a restore to a point at most 1.5x the plain full restore's; a "
            "rewind's items read and written within 2x the changed keys, whatever the table's size. On "
            "threads, into the local endpoint (moto, its own process); sizes scaled to about two minutes.",
            "",
            section,
            "",
        ]
        print(section, flush=True)

    if "import" in only:
        with local_endpoint() as endpoint:
            print(f"a missing table: ImportTable vs writes ({args.import_items:,} items) ...", flush=True)
            section = bench_import.report(bench_import.run(args.import_items, endpoint))
        report += [
            f"## A table that is gone ({args.import_items:,} items): ImportTable vs the write path",
            "",
            section,
            "",
        ]
        print(section, flush=True)

    report += [f"At the end: {load()}.", ""]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "results.md").write_text("\n".join(report))
    if plotted:
        (args.results / "items-per-core.svg").write_text(svg_bars(plotted, "Restore paths: items/s per core"))
    print(
        f"\nreport: {args.results / 'results.md'} (total {time.monotonic() - started:.0f}s)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
