#!/usr/bin/env bash
# docs/lua-api.md documents every public function of the Lua API, each
# under a "### " heading with an example: the C bindings (harness/lua*.c
# luaL_Reg tables) and the prelude's functions (names starting with "_"
# are private). A function added without its entry fails here, by name.
set -u
src=${NATLAB_SOURCE_DIR:?}
python3 - "$src" <<'PY'
import glob, re, sys
src = sys.argv[1]
doc = open(src + "/docs/lua-api.md").read()
# each "### " heading with the text up to the next heading
sections = re.split(r"^(?=### )", doc, flags=re.M)
heads = {s.splitlines()[0]: s for s in sections if s.startswith("### ")}
want = []  # (qualified name, the regex a heading must match)
def fn(prefix, name, where):
    if name.startswith("_"):
        return
    want.append((prefix + name, re.escape(prefix + name) + r"[({]", where))
# C bindings: which object each table's functions hang on
owner = {("luanet.c", "node_m"): "node:", ("luanet.c", "lib"): "natlab.",
         ("luaproc.c", "proc_m"): "proc:", ("luaproc.c", "lib"): "natlab.",
         ("luaimpair.c", "m"): "link:"}
for path in sorted(glob.glob(src + "/harness/lua*.c")):
    text = open(path).read()
    base = path.rsplit("/", 1)[1]
    for table, body in re.findall(r"luaL_Reg (\w+)\[\] = \{(.*?)\};", text, re.S):
        prefix = owner.get((base, table), "")
        for name in re.findall(r'\{"(\w+)",', body):
            # a table this test does not know: any "x:name(" or "x.name(" heading
            fn(prefix, name, base) if prefix else want.append((name, r"[.:]" + name + r"\(", base))
    for name in re.findall(r'lua_pushcfunction\(L, l_\w+\);\s*lua_setfield\(L, -2, "(\w+)"\)', text):
        fn("natlab.", name, base)
for path in sorted(glob.glob(src + "/scenarios/prelude/*.lua")):
    text = open(path).read()
    base = "prelude/" + path.rsplit("/", 1)[1]
    for name in re.findall(r"^function natlab\.(\w+)\(", text, re.M):
        fn("natlab.", name, base)
    for name in re.findall(r"^function scen\.(\w+)\(", text, re.M):
        fn("natlab.scen.", name, base)
    for name in re.findall(r"^function Net:(\w+)\(", text, re.M):
        fn("net:", name, base)
    local_fns = set(re.findall(r"^local function (\w+)\(", text, re.M))
    for name, rhs in re.findall(r"^natlab\.(\w+) = (\w+)$", text, re.M):
        if rhs in local_fns:  # a local function made public
            fn("natlab.", name, base)
    if re.search(r"^function scenario\(", text, re.M):
        want.append(("scenario", r"scenario\{", base))
missing, no_example = [], []
for name, pat, where in want:
    hit = [s for h, s in heads.items() if re.search(pat, h)]
    if not hit:
        missing.append(f"{name} ({where})")
    elif not any("```lua" in s for s in hit):
        no_example.append(name)
assert len(want) > 60, f"only {len(want)} functions found: the parsing broke"
assert not missing, "not documented in docs/lua-api.md: " + ", ".join(missing)
assert not no_example, "documented without a ```lua example: " + ", ".join(no_example)
print(f"ok: {len(want)} functions documented")
PY
