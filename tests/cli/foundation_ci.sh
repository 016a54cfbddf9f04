#!/usr/bin/env bash
# foundation_ci - the CI workflow files docs/ci.md points at
# (docs/ci/github-natlab.yml, docs/ci/gitlab-ci.yml) parse as YAML, have
# the shape docs/ci.md promises (a privileged debian:12 container, N shard
# jobs running `natlab run --shard K/N`, a merge job running `natlab
# merge`, artifacts kept even when a cell fails), and their natlab commands
# work: each file's shard and merge commands are run here as the CI system
# would run them (its variables filled in, `smoke` instead of the default
# matrix to keep it short), and the merged run must hold every cell of the
# unsharded run exactly once. What cannot be checked here is GitHub's and
# GitLab's own side (runners, artifact upload), and docs/ci.md says so.
set -u
bin=${NATLAB_BIN_DIR:?}
src=${NATLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "skip: python3-yaml is not installed (apt-get install python3-yaml)"; exit 77; }
work=$(mktemp -d /tmp/natlab-ci.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Shape, and the commands to replay: one shell script per platform.
python3 - "$src" "$work" <<'PY' || fail "a workflow file is not what docs/ci.md promises"
import sys, yaml

src, work = sys.argv[1], sys.argv[2]

def need(cond, what):
    if not cond:
        sys.exit("%s" % what)

def natlab_cmd(cmd):
    return cmd.replace("build/bin/natlab", '"$NATLAB_BIN_DIR/natlab"')

# ---- GitHub Actions
gh = yaml.safe_load(open(src + "/docs/ci/github-natlab.yml"))
need(gh.get("on", gh.get(True)), "github: no trigger")
jobs = gh["jobs"]
shard, merge = jobs["shard"], jobs["merge"]
for name, job in (("shard", shard), ("merge", merge)):
    need(job["container"]["image"] == "debian:12", "github %s: not in debian:12" % name)
need("--privileged" in shard["container"].get("options", ""), "github shard: not privileged")
shards = shard["strategy"]["matrix"]["shard"]
need(shards == list(range(1, len(shards) + 1)) and len(shards) > 1, "github: shards not 1..N")
need(shard["strategy"].get("fail-fast") is False, "github: fail-fast would cancel shards")
need(merge["needs"] == "shard" and merge["if"] == "always()", "github merge: not after every shard")
runs = [s["run"] for s in shard["steps"] if "run" in s]
need(any("install-deps" in r for r in runs) and any("scripts/build" in r for r in runs),
     "github shard: no install or build")
uploads = [s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
need(uploads and uploads[0].get("if") == "always()", "github shard: results not always uploaded")
need(any(s.get("uses", "").startswith("actions/download-artifact") for s in merge["steps"]),
     "github merge: shards not downloaded")
n = len(shards)
out = ["set -e"]
for k in shards:
    for r in runs:
        if "natlab run" in r or "latest" in r:
            r = (r.replace("${{ matrix.shard }}", str(k))
                  .replace("${{ strategy.job-total }}", str(n))
                  .replace("${{ github.run_id }}", "4242"))
            need("${{" not in r, "github: unknown expression in %r" % r)
            out.append("rc=0; " + natlab_cmd(r) + " || rc=$?; [ $rc -le 1 ]")
mruns = [s["run"] for s in merge["steps"] if "run" in s and "natlab merge" in s["run"]]
need(mruns, "github merge: no natlab merge")
out += [natlab_cmd(r) for r in mruns]
need(any("--shard" in r for r in runs), "github shard: no --shard")
open(work + "/github.sh", "w").write("\n".join(out) + "\n")

# ---- GitLab CI
gl = yaml.safe_load(open(src + "/docs/ci/gitlab-ci.yml"))
s, m = gl["natlab-shard"], gl["natlab-report"]
need(s["image"] == "debian:12" and m["image"] == "debian:12", "gitlab: not debian:12")
need(isinstance(s["parallel"], int) and s["parallel"] > 1, "gitlab: no parallel shards")
need(s["artifacts"]["when"] == "always" and m["artifacts"]["when"] == "always",
     "gitlab: artifacts not always kept")
need(m["when"] == "always" and m["needs"] == ["natlab-shard"], "gitlab report: not after every shard")
need(set(gl["stages"]) >= {s["stage"], m["stage"]}, "gitlab: a job's stage is not declared")
need(any("install-deps" in c for c in s["script"]), "gitlab shard: no install")
out = ["set -e"]
for k in range(1, s["parallel"] + 1):
    for c in s["script"] + s.get("after_script", []):
        if "natlab run" in c or "latest" in c:
            c = (c.replace("${CI_NODE_INDEX}", str(k)).replace("${CI_NODE_TOTAL}", str(s["parallel"]))
                  .replace("${CI_PIPELINE_ID}", "4242"))
            need("${CI_" not in c, "gitlab: unknown variable in %r" % c)
            out.append("rc=0; " + natlab_cmd(c) + " || rc=$?; [ $rc -le 1 ]")
need(any("--shard" in c for c in s["script"]), "gitlab shard: no --shard")
mc = [c for c in m["script"] if "natlab merge" in c]
need(mc, "gitlab report: no natlab merge")
out += [natlab_cmd(c) for c in mc]
open(work + "/gitlab.sh", "w").write("\n".join(out) + "\n")
PY
echo "ok   both workflow files parse and have the promised shape"
grep -q "docs/ci/github-natlab.yml" "$src/docs/ci.md" && grep -q "docs/ci/gitlab-ci.yml" "$src/docs/ci.md" ||
  fail "docs/ci.md does not point at the workflow files"

if ! "$bin/natlab" doctor >/dev/null 2>&1; then
  echo "skip the replay: this machine cannot run a lab"
  exit 0
fi
# The unsharded run: what the merged shards must add up to.
"$bin/natlab" run smoke --seed 4242 --out "$work/whole" >"$work/whole.log" 2>&1
rc=$?
[ "$rc" -le 1 ] || fail "the unsharded run exited $rc: $(tail -5 "$work/whole.log")"
want=$(python3 -c 'import json,sys; print(sorted((c["id"], c.get("trial", 1)) for c in map(json.loads, open(sys.argv[1]))))' \
  "$work/whole/latest/cells.jsonl")
for ci in github gitlab; do
  mkdir -p "$work/$ci"
  (cd "$work/$ci" && NATLAB_BIN_DIR=$bin NATLAB_SCENARIOS=smoke bash "$work/$ci.sh") >"$work/$ci.log" 2>&1 ||
    fail "$ci: the workflow's natlab commands failed: $(tail -8 "$work/$ci.log")"
  [ -z "$(ls -d "$work/$ci"/results/shard-*/latest 2>/dev/null)" ] || fail "$ci: latest links left in the artifact"
  got=$(python3 -c 'import json,sys; print(sorted((c["id"], c.get("trial", 1)) for c in map(json.loads, open(sys.argv[1]))))' \
    "$work/$ci/merged/cells.jsonl") || fail "$ci: no merged cells.jsonl"
  [ "$got" = "$want" ] || fail "$ci: the merged shards hold $got, the unsharded run $want"
  python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$work/$ci/merged/junit.xml" ||
    fail "$ci: merged junit.xml is not well-formed"
  [ -s "$work/$ci/merged/report.html" ] || fail "$ci: no merged report.html"
  echo "ok   $ci: $(ls -d "$work/$ci"/results/shard-*/2* | wc -l) shards run and merged: every cell once"
done
