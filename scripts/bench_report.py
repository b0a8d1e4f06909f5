"""Writes the measured tables of docs/benchmarks.md and the chart docs/benchmarks.svg.

Usage: python3 scripts/bench_report.py [--partial]

Reads what `./scripts/bench` leaves: criterion's medians (target/criterion/) and the
comparisons and byte counts (target/bench/results/*.json). Each table replaces the text
between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md. A table
whose numbers are missing is an error, or with `--partial` says "not measured in this run".
"""

import json
import os
import platform
import re
import subprocess
import sys
from datetime import date

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CRITERION = os.path.join(ROOT, "target", "criterion")
RESULTS = os.path.join(ROOT, "target", "bench", "results")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
CHART = os.path.join(ROOT, "docs", "benchmarks.svg")

# Targets of design.md §12.
COOKIE_VS_PYTHON = 15.0
COOKIE_VS_FLOOR = 1.5
LOAD_VS_RAW = 1.3
LAYER_SHARE = 0.80
# Issue 12: a 400 KB Cookie header of distinct names costs under this many normal requests.
HOSTILE_RATIO = 10.0


class Missing(Exception):
    """A number a table needs was not measured."""


def criterion_medians():
    """{full_id: median nanoseconds} of every criterion benchmark that has run."""
    medians = {}
    for dirpath, _, files in os.walk(CRITERION):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json"), encoding="utf-8") as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(dirpath, "estimates.json"), encoding="utf-8") as f:
            medians[full_id] = json.load(f)["median"]["point_estimate"]
    return medians


def result(name):
    path = os.path.join(RESULTS, name + ".json")
    if not os.path.exists(path):
        raise Missing(f"{path} (its bench did not run)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def us(ns):
    """Nanoseconds as microseconds, for a table cell."""
    value = ns / 1000.0
    if value >= 100:
        return f"{value:,.0f} µs"
    if value >= 10:
        return f"{value:.1f} µs"
    return f"{value:.2f} µs"


def ratio(x):
    return f"{x:.2f}×"


def verdict(ok):
    return "met" if ok else "**not met**"


class Numbers:
    def __init__(self):
        self.criterion = criterion_medians()

    def ns(self, full_id):
        if full_id not in self.criterion:
            raise Missing(f"criterion result {full_id}")
        return self.criterion[full_id]

    def group(self, prefix):
        """{id after the prefix: ns} of every result whose id starts with `prefix/`."""
        found = {k[len(prefix) + 1 :]: v for k, v in self.criterion.items() if k.startswith(prefix + "/")}
        if not found:
            raise Missing(f"criterion group {prefix}")
        return found

    def cookie_group(self):
        names = sorted(k.split("/")[0] for k in self.criterion if k.startswith("cookie_read_"))
        if not names:
            raise Missing("criterion group cookie_read_*")
        return names[-1]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the tables -----------------------------------------------------------------------------


def machine(_n):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Measured {date.today().isoformat()} on {os.cpu_count()} cores ({cpu}), "
        f"{mem_gib:.0f} GiB, {platform.system()} {platform.release()}, {rustc}, "
        f"Python {platform.python_version()} for the SDK comparison."
    )


def cookie_read(n):
    group = n.cookie_group()
    floor = n.ns(f"{group}/floor_hmac_aes_json")
    py_layout = n.ns(f"{group}/cookie_store_get_python_layout")
    rotating = n.ns(f"{group}/cookie_store_get_rotating_layout")
    python_us = result("python_cookie_read")["python_read_us"] * 1000.0
    rows = [
        ["floor: HMAC-SHA-512 + AES-256-CBC + JSON", us(floor), "1.00×", ratio(python_us / floor), ""],
        [
            "`CookieStateStore::get`, Python layout",
            us(py_layout),
            ratio(py_layout / floor),
            ratio(python_us / py_layout),
            f"≤ {COOKIE_VS_FLOOR}× floor: {verdict(py_layout / floor <= COOKIE_VS_FLOOR)}; "
            f"≥ {COOKIE_VS_PYTHON:.0f}× Python: {verdict(python_us / py_layout >= COOKIE_VS_PYTHON)}",
        ],
        [
            "`CookieStateStore::get`, rotating layout (default)",
            us(rotating),
            ratio(rotating / floor),
            ratio(python_us / rotating),
            f"≤ {COOKIE_VS_FLOOR}× floor: {verdict(rotating / floor <= COOKIE_VS_FLOOR)}; "
            f"≥ {COOKIE_VS_PYTHON:.0f}× Python: {verdict(python_us / rotating >= COOKIE_VS_PYTHON)}",
        ],
        ["auth0-server-python (`decrypt` + `StateData`)", us(python_us), ratio(python_us / floor), "1×", ""],
    ]
    cached = n.criterion.get(f"{group}/cookie_store_get_cached")
    if cached is not None:
        rows.insert(
            3,
            [
                "`CookieStateStore::get`, cookies seen before (read cache)",
                us(cached),
                ratio(cached / floor),
                ratio(python_us / cached),
                f"≥ {COOKIE_VS_PYTHON:.0f}× Python: {verdict(python_us / cached >= COOKIE_VS_PYTHON)}",
            ],
        )
    return table(["what", "time per read", "vs floor", "Python ÷ this", "target"], rows)


def sealing(n):
    found = n.group("seal")
    variants = [
        ("jwe_python", "JWE, Python layout"),
        ("jwe_rotating", "JWE, rotating layout"),
        ("record", "record (XChaCha20-Poly1305)"),
    ]
    sizes = sorted({int(k.rsplit("/", 1)[1]) for k in found})
    rows = []
    for key, label in variants:
        for op in ("seal", "open"):
            cells = []
            for size in sizes:
                ns = found.get(f"{key}_{op}/{size}")
                if ns is None:
                    raise Missing(f"seal/{key}_{op}/{size}")
                cells.append(f"{us(ns)} ({size / ns * 1000:.0f} MB/s)")
            rows.append([f"{label}: {op}"] + cells)
    return table(["what"] + [f"{s // 1024} KB of JSON" for s in sizes], rows)


def cookie_write(n):
    found = n.group("cookie_write")
    rows = [[f"`CookieStateStore::set`, {k.replace('_', ' ')}", us(v)] for k, v in sorted(found.items())]
    return table(["what", "time per write"], rows)


def access_token(n):
    found = n.group("access_token_hit")
    rows = []
    for store in ("cookie", "memory"):
        get = found[f"{store}_store_get"]
        hit = found[f"{store}_get_access_token"]
        rows.append([f"{store} store", us(get), us(hit), us(hit - get)])
    return table(["session in", "store `get` alone", "`get_access_token` (cache hit)", "added by the SDK"], rows)


def backends(n):
    rows = []
    for store in ("memory", "redis", "postgres"):
        found = n.group(f"{store}_backend")
        for op in ("load", "update", "store_get"):
            cells = [us(found[f"{op}/c{c}"]) if f"{op}/c{c}" in found else "–" for c in (1, 16, 64)]
            if all(c == "–" for c in cells):
                continue
            label = "`ServerSideStateStore::get`" if op == "store_get" else f"backend `{op}`"
            rows.append([store, label] + cells)
    return table(["store", "operation", "1 in flight", "16 in flight", "64 in flight"], rows)


def load_vs_raw(_n):
    rows = []
    for store, raw_label in (("redis", "redis-benchmark GET"), ("postgres", "pgbench, prepared SELECT")):
        data = result(f"{store}_load_vs_raw")
        for row in data["rows"]:
            c = row["concurrency"]
            target = verdict(row["ratio"] <= LOAD_VS_RAW) if c in (1, 64) else "–"
            notes = []
            if "ours_through_pool_us" in row:
                notes.append(f"our `load` through sqlx's pool (`with_read_connections(0)`): {row['ours_through_pool_us']:.1f} µs")
            if "sqlx_without_pool_us" in row:
                notes.append(f"sqlx on its own connection, no pool: {row['sqlx_without_pool_us']:.1f} µs")
            rows.append(
                [
                    store,
                    c,
                    f"{row['ours_us']:.1f} µs",
                    f"{row['raw_us']:.1f} µs ({raw_label})",
                    ratio(row["ratio"]),
                    target,
                    "; ".join(notes),
                ]
            )
    return table(
        ["store", "in flight", "our `load`", "raw round trip", "ratio", f"≤ {LOAD_VS_RAW}×", "same SELECT, other ways"], rows
    )


def axum_layer(n):
    found = n.group("axum_profile_page")
    wrk = result("axum_layer_vs_bare")
    labels = {
        "layer_cookie": "through the layer, cookie session",
        "layer_memory": "through the layer, memory-store session",
    }
    rows = [["bare handler (same request, no layer)", us(found["bare"]), "", "", "100 %", "–"]]
    for w in wrk["rows"]:
        share = w["share_of_bare"]
        rows.append(
            [
                labels.get(w["app"], w["app"]),
                us(found[w["app"]]),
                f"{w['requests_per_sec']:,.0f}",
                f"{w['bare_requests_per_sec']:,.0f}",
                f"{100 * share:.1f} %",
                verdict(share >= LAYER_SHARE),
            ]
        )
    note = f"\n\nLoad: {wrk['load_generator']}; the session is {wrk['session_json_bytes']:,} bytes of JSON."
    header = ["protected page", "in process, per request", "requests/s (wrk)", "bare, same cookies", "of bare", f"≥ {LAYER_SHARE:.0%}"]
    return table(header, rows) + note


def logins(n):
    found = n.group("dev_tenant_login")
    rows = []
    for kind, label in (("returning_user", "returning user (single sign-on)"), ("first_login", "first login (the form)")):
        for c in (1, 8):
            ns = found[f"{kind}/c{c}"]
            rows.append([label, c, us(ns), f"{1e9 / ns:,.0f}"])
    return table(["login", "in flight", "wall time per login", "logins/s"], rows)


def hostile_cookie_header(n):
    found = n.group("axum_cookie_header")
    data = result("hostile_cookie_header")
    ways = {
        "in_process": "in process",
        "loopback": "over loopback TCP",
    }
    rows = []
    for row in data["rows"]:
        way, store = row["way"], row["store"]
        normal = found[f"{way}/{store}_normal"]
        hostile = found[f"{way}/{store}_hostile_400kb"]
        owned = found[f"{way}/{store}_hostile_owned_names_400kb"]
        rows.append(
            [
                f"{store} store ({row['normal_header_bytes']:,}-byte header), {ways.get(way, way)}",
                us(normal),
                us(hostile),
                ratio(hostile / normal),
                verdict(hostile / normal < HOSTILE_RATIO),
                f"{us(owned)} ({ratio(owned / normal)})",
            ]
        )
    note = f"\n\nThe hostile headers are {data['rows'][0]['hostile_header_bytes']:,} bytes."
    baseline = found.get("baseline/split_400kb")
    if baseline is not None:
        note += (
            f" Only splitting the hostile header into its pairs (what a reader of every cookie"
            f" does before parsing one) takes {us(baseline)}."
        )
    header = [
        "protected page, normal Cookie header",
        "normal",
        "+ 400 KB of distinct names",
        "hostile ÷ normal",
        f"< {HOSTILE_RATIO:.0f}×",
        "+ 400 KB of SDK-like names (`__Host-_a0_tx_x…`)",
    ]
    return table(header, rows) + note


MEMORY_HOW = {
    "memory": "heap still in use after 10,000 sessions (stats_alloc), ÷ 10,000; read cache off",
    "redis": "`MEMORY USAGE` of the hash + its sid and sub index sets",
    "postgres": "`pg_total_relation_size` (table, TOAST, indexes) over 1,000 rows, ÷ 1,000",
}


def memory(_n):
    data = result("bytes_per_session")
    rows = []
    for row in data["rows"]:
        rows.append(
            [
                row["store"],
                f"{row['bytes_per_session']:,.0f}",
                f"{row.get('json_bytes', 0):,}",
                f"{row['sealed_bytes']:,}" if row.get("sealed_bytes") else "–",
                MEMORY_HOW.get(row["store"], ""),
            ]
        )
    return table(["store", "bytes per session", "session JSON", "sealed record", "measured by"], rows)


SECTIONS = {
    "machine": machine,
    "cookie-read": cookie_read,
    "sealing": sealing,
    "cookie-write": cookie_write,
    "access-token": access_token,
    "backends": backends,
    "load-vs-raw": load_vs_raw,
    "axum-layer": axum_layer,
    "hostile-cookie-header": hostile_cookie_header,
    "logins": logins,
    "memory": memory,
}


# --- the chart ------------------------------------------------------------------------------


def chart_rows(n):
    """(label, microseconds, is ours) per bar; what could not be read is left out."""
    rows = []

    def add(label, fn, ours=True):
        try:
            rows.append((label, fn(), ours))
        except (Missing, KeyError):
            pass

    group = None
    try:
        group = n.cookie_group()
    except Missing:
        pass
    if group:
        add("cookie read: auth0-server-python", lambda: result("python_cookie_read")["python_read_us"], False)
        add("cookie read: floor (HMAC+AES+JSON)", lambda: n.ns(f"{group}/floor_hmac_aes_json") / 1000, False)
        add("cookie read: ours (rotating layout)", lambda: n.ns(f"{group}/cookie_store_get_rotating_layout") / 1000)
        add("cookie read: ours, cookies seen before", lambda: n.ns(f"{group}/cookie_store_get_cached") / 1000)
    add("record open, 4 KB", lambda: n.ns("seal/record_open/4096") / 1000)
    add("memory store get (read cache)", lambda: n.ns("memory_backend/store_get/c1") / 1000)
    add("get_access_token, cache hit (memory)", lambda: n.ns("access_token_hit/memory_get_access_token") / 1000)
    for store, raw in (("redis", "redis-benchmark GET"), ("postgres", "pgbench SELECT")):
        def raw_row(store=store):
            return next(r for r in result(f"{store}_load_vs_raw")["rows"] if r["concurrency"] == 1)

        add(f"{store}: {raw}, 1 in flight", lambda raw_row=raw_row: raw_row()["raw_us"], False)
        add(f"{store}: our load, 1 in flight", lambda raw_row=raw_row: raw_row()["ours_us"])
    add("axum page, bare (in process)", lambda: n.ns("axum_profile_page/bare") / 1000, False)
    add("axum page + layer, cookie session", lambda: n.ns("axum_profile_page/layer_cookie") / 1000)
    add("axum page + layer, memory session", lambda: n.ns("axum_profile_page/layer_memory") / 1000)
    add("login against the dev tenant", lambda: n.ns("dev_tenant_login/returning_user/c1") / 1000)
    return rows


def write_chart(rows):
    """A horizontal bar chart on a log scale, as plain SVG (no plotting library)."""
    import math

    width, label_w, bar_h, gap, top = 900, 330, 18, 8, 40
    plot_w = width - label_w - 90
    lo, hi = 0.5, max(r[1] for r in rows) * 2
    scale = lambda v: plot_w * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    height = top + len(rows) * (bar_h + gap) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Per-request costs, microseconds (log scale; shorter is faster)</text>',
    ]
    decade = 1.0
    while decade <= hi:
        if decade >= lo:
            x = label_w + scale(decade)
            out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" stroke="#ddd"/>')
            out.append(f'<text x="{x:.1f}" y="{height - 14}" text-anchor="middle" fill="#555">{decade:g}</text>')
        decade *= 10
    for i, (label, value, ours) in enumerate(rows):
        y = top + i * (bar_h + gap)
        color = "#e8590c" if ours else "#868e96"
        out.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{max(scale(value), 1):.1f}" height="{bar_h}" fill="{color}"/>')
        out.append(f'<text x="{label_w + scale(value) + 5:.1f}" y="{y + 13}">{value:,.1f}</text>')
    out.append(
        f'<text x="{label_w}" y="{height - 2}" fill="#555">orange: this project · grey: references (Python SDK, floors, raw servers, bare axum)</text>'
    )
    out.append("</svg>")
    with open(CHART, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    partial = "--partial" in sys.argv[1:]
    n = Numbers()
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    missing = []
    for name, build in SECTIONS.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(doc):
            sys.exit(f"docs/benchmarks.md has no <!-- bench:{name} --> block")
        try:
            text = build(n)
        except (Missing, KeyError) as e:
            missing.append(f"{name}: {e}")
            if not partial:
                continue
            text = f"_Not measured in this run ({e})._"
        doc = pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), doc)
    if missing and not partial:
        sys.exit("bench_report: numbers missing (a bench did not run):\n  " + "\n  ".join(missing))
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(doc)
    rows = chart_rows(n)
    if rows:
        write_chart(rows)
    print(f"bench_report: wrote docs/benchmarks.md ({len(SECTIONS) - len(missing)} tables) and docs/benchmarks.svg ({len(rows)} bars)")
    for m in missing:
        print(f"  not measured: {m}")


if __name__ == "__main__":
    main()
