#!/usr/bin/env python3
"""Sum the natlab-profile lines (NATLAB_PROFILE=1, harness/profile.h) of a
run's cell logs: per phase, the mean CPU of the lab process (self), of the
agents it reaped (children) and the wall time, in ms per cell; with the
cells' rusage totals from cells.jsonl ("resources") beside them.
usage: scale_profile.py RUNDIR"""
import glob, json, sys

d = sys.argv[1]
phases, n = {}, 0
order = []
for log in glob.glob(d + "/logs/*/cell.log"):
    for line in open(log, errors="replace"):
        if not line.startswith("natlab-profile "):
            continue
        n += 1
        for item in line.split()[1:]:
            name, v = item.split("=")
            s, c, w = map(float, v.split("/"))
            if name not in phases:
                phases[name] = [0.0, 0.0, 0.0]
                order.append(name)
            p = phases[name]
            p[0] += s; p[1] += c; p[2] += w
cells = [json.loads(l) for l in open(d + "/cells.jsonl")]
tree = sum(c.get("resources", {}).get("cpu_ms", 0) for c in cells)
run = json.load(open(d + "/run.json"))
res = run.get("resources", {})
print(f"{n} profiled cells of {len(cells)}")
print(f"{'phase':10} {'lab ms':>8} {'agents ms':>9} {'wall ms':>8}")
tot = [0.0, 0.0, 0.0]
for name in order:
    p = phases[name]
    print(f"{name:10} {p[0]/max(n,1):8.2f} {p[1]/max(n,1):9.2f} {p[2]/max(n,1):8.1f}")
    tot = [a + b for a, b in zip(tot, p)]
print(f"{'sum':10} {tot[0]/max(n,1):8.2f} {tot[1]/max(n,1):9.2f} {tot[2]/max(n,1):8.1f}")
print(f"cell process tree (wait4): {tree/max(len(cells),1):.2f} ms/cell; "
      f"outside the lab process (fork, supervisor, exit and reaping): "
      f"{tree/max(len(cells),1) - (tot[0]+tot[1])/max(n,1):.2f} ms/cell")
if res:
    print(f"parent: {res['parent_cpu_s']*1000/max(len(cells),1):.2f} ms/cell, "
          f"peak RSS {res['parent_peak_rss_kb']} kB")
