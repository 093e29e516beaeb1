#!/usr/bin/env python3
"""Attribution benchmark: `truce attribute` against the PostGIS and GeoPandas peers, same run.

    python3 bench/attribute/bench.py --truce BUILD/truce [--scenario DIR] [--out DIR]
        [--runs 3] [--geopandas-runs 1] [--skip-geopandas] [--shared ../shared]

Generates the issue's scenario when DIR has none (gen.py --seed 2 --observations 200000
--front-km 300 --points 1000000), then times, per tool, complete processes on the same 1M points:
  truce      `truce attribute points.csv -o attrib.csv --zones zones.geojson --loc loc.geojson`:
             end to end (start-up, GeoJSON, read CSV, attribute, write CSV); median of --runs.
  postgis    `bash peers/postgis.sh DIR OUT attrib`: median of --runs; reported as the peer's own
             attribution phases (load, index, party, distance, export; cluster start-up and
             GeoJSON loading excluded, as in BASELINES.md) and as the whole process.
  geopandas  `/usr/bin/python3 peers/geopandas.py DIR OUT attrib`: --geopandas-runs runs (~150 s each).
Every tool's last output is scored with score.py. Writes OUT/results.json and OUT/results.md and
prints the markdown table. Standard library only.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    load = os.getloadavg()[0]
    c0, t0 = children_cpu(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("failed: " + " ".join(cmd))
    phases = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "phase":
            phases[parts[1]] = float(parts[2])
    return {"wall": round(wall, 3), "cpu": round(cpu, 3), "load_before": round(load, 2), "phases": phases,
            "stderr": p.stderr.strip().splitlines()[-1:] if p.stderr.strip() else []}


def attrib_phase_sum(phases):
    keys = [k for k in phases if k.startswith("attrib_")]
    return round(sum(phases[k] for k in keys), 3) if keys else None


def score(shared, scen, attrib):
    p = subprocess.run(["python3", os.path.join(shared, "scenario", "score.py"), "--truth", scen, "--attrib", attrib],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("score.py failed on " + attrib)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--truce", default=os.path.join(root, "build", "truce"))
    ap.add_argument("--shared", default=os.environ.get("TRUCE_SHARED_DIR", os.path.join(root, "..", "shared")))
    ap.add_argument("--scenario", default="/tmp/truce-bench-attribute/scenario")
    ap.add_argument("--out", default="/tmp/truce-bench-attribute")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--geopandas-runs", type=int, default=1)
    ap.add_argument("--skip-geopandas", action="store_true")
    ap.add_argument("--pg-port", default=os.environ.get("PEER_PGPORT", "55442"),
                    help="port of the peer's throwaway PostgreSQL (default 55442, apart from other benchmarks)")
    a = ap.parse_args()
    os.environ["PEER_PGPORT"] = str(a.pg_port)
    shared, scen, out = os.path.abspath(a.shared), os.path.abspath(a.scenario), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    gen_cmd = ["python3", os.path.join(shared, "scenario", "gen.py"), "--out", scen, "--seed", "2", "--observations",
               "200000", "--front-km", "300", "--points", "1000000", "--quiet"]
    if not os.path.exists(os.path.join(scen, "points.csv")):
        print("generating", " ".join(gen_cmd), flush=True)
        subprocess.run(gen_cmd, check=True)
    peers = os.path.join(shared, "scenario", "peers")
    results = {"scenario": scen, "generate": " ".join(gen_cmd[2:]), "nproc": os.cpu_count(), "tools": {}}

    tools = [
        ("truce", a.runs, lambda o: [a.truce, "attribute", os.path.join(scen, "points.csv"), "-o", os.path.join(o, "attrib.csv"),
                                     "--zones", os.path.join(scen, "zones.geojson"), "--loc", os.path.join(scen, "loc.geojson")]),
        ("postgis", a.runs, lambda o: ["bash", os.path.join(peers, "postgis.sh"), scen, o, "attrib"]),
    ]
    if not a.skip_geopandas:
        tools.append(("geopandas", a.geopandas_runs, lambda o: ["/usr/bin/python3", os.path.join(peers, "geopandas.py"), scen, o, "attrib"]))
    for name, runs, cmd in tools:
        o = os.path.join(out, name)
        os.makedirs(o, exist_ok=True)
        rs = []
        for i in range(runs):
            r = timed(cmd(o))
            rs.append(r)
            print("%-9s run %d: wall %.3f s, cpu %.3f s, load %.2f %s" % (name, i + 1, r["wall"], r["cpu"], r["load_before"],
                  r["stderr"][0] if name == "truce" and r["stderr"] else ""), flush=True)
        t = {"runs": rs, "wall_median": round(statistics.median(r["wall"] for r in rs), 3),
             "cpu_median": round(statistics.median(r["cpu"] for r in rs), 3)}
        sums = [attrib_phase_sum(r["phases"]) for r in rs]
        if all(s is not None for s in sums):
            t["attrib_phases_median"] = round(statistics.median(sums), 3)
        print("scoring", name, flush=True)
        t["score"] = score(shared, scen, os.path.join(o, "attrib.csv"))
        results["tools"][name] = t

    tr = results["tools"]["truce"]["wall_median"]
    rows = ["| tool | time, end to end (median) | attribution phases (peer's own timing) | CPU s / wall s | "
            "truce faster by (vs end to end / vs phases) | party accuracy | distance error max / p99 / median (m) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, t in results["tools"].items():
        s = t["score"]
        ph = t.get("attrib_phases_median")
        ratio = "-" if name == "truce" else "%.1fx / %s" % (t["wall_median"] / tr, "%.1fx" % (ph / tr) if ph else "-")
        rows.append("| %s | %.3f s (%d run%s) | %s | %.2f | %s | %.6f | %.3f / %.3f / %.3f |" % (
            name, t["wall_median"], len(t["runs"]), "" if len(t["runs"]) == 1 else "s", "%.3f s" % ph if ph else "-",
            t["cpu_median"] / t["wall_median"], ratio, s["attrib_party_accuracy"], s["attrib_dist_err_max_m"],
            s["attrib_dist_err_p99_m"], s["attrib_dist_err_median_m"]))
    table = "\n".join(rows)
    results["table"] = table
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    with open(os.path.join(out, "results.md"), "w") as fh:
        fh.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
