#!/usr/bin/env python3
"""Write a synthetic run of N cells into DIR (run.json, cells.jsonl) for the
report's load-time figure: an implementation x implementation x preset grid
(6 stacks: 36 pairs, 81 presets squares each, trials to reach N), each cell
with the keys a real matrix cell has (params, grid, expected and observed
path, connect time, candidates, events, logs), about 1.5 kB; one in 40 did
not pass. Deterministic: the same N gives the same files.
usage: scale_synth.py DIR N"""
import json, os, random, sys

d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
rnd = random.Random(n)
impls = ["natlab-ice", "libnice", "pion", "libjuice", "webrtc-rs", "aiortc"]
presets = ["open", "full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
           "cgnat", "udp-blocked", "tcp-web-only", "hard"]
paths = ["host", "srflx", "prflx", "relay-udp", "relay-tcp"]
json.dump({"run_id": f"synthetic-{n}", "seed": 1, "kernel": "synthetic", "schema": 1,
           "options": {"scenarios": ["matrix"], "trials": 1}, "start": "2026-12-06T00:00:00Z",
           "end": "2026-12-06T01:00:00Z", "cells_total": n}, open(d + "/run.json", "w"))
points = [(li, ri, l, r) for li in impls for ri in impls for l in presets for r in presets]
with open(d + "/cells.jsonl", "w") as f:
    for i in range(n):
        li, ri, l, r = points[i % len(points)]
        trial = i // len(points)
        exp = paths[(presets.index(l) + presets.index(r)) % len(paths)]
        bad = rnd.random() < 0.025
        path = "failed" if bad else exp
        pid = f"matrix/left={l},left_impl={li},right={r},right_impl={ri}"
        cell = {
            "id": pid, "scenario": "matrix", "trial": trial, "index": i, "seed": rnd.getrandbits(52),
            "params": {"left": l, "right": r, "left_impl": li, "right_impl": ri, "servers": "natlab",
                       "trickle": True, "ta_ms": 10, "rto_ms": 100},
            "outcome": "fail" if bad else "pass", "path": path, "expected_path": exp,
            "message": f"expected path {exp}, observed failed" if bad else None,
            "connect_ms": round(rnd.uniform(40, 900), 1), "duration_ms": rnd.randint(500, 3000),
            "grid": {"name": f"matrix [left_impl={li}, right_impl={ri}]", "row": l, "col": r,
                     "row_label": "left", "col_label": "right"},
            "candidates": {"left": [f"1 1 udp 2130706431 10.0.1.2 {40000 + k} typ host" for k in range(2)],
                           "right": [f"1 1 udp 1694498815 203.0.113.{k + 2} 5{k}000 typ srflx raddr 10.0.2.2 rport 4000" for k in range(2)]},
            "events": [{"t_ms": t * 37, "src": "left" if t % 2 else "right", "ev": e}
                       for t, e in enumerate(["ready", "local", "checking", "candidate", "selected", "rx"])],
            "logs": [f"logs/{pid.replace('/', '_')}.t{trial}/cell.log"],
            "resources": {"cpu_ms": rnd.randint(40, 80), "maxrss_kb": 7600},
        }
        if not bad:
            del cell["message"]
        f.write(json.dumps(cell, separators=(",", ":"), sort_keys=True) + "\n")
