"""A checkpoint split into two shards with model.safetensors.index.json gives the
same greedy ids as the single file (stories260k, checked against run.c)."""
import json
import os
import shutil

import safetensors_util as st
from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run_json

args = parse_args()
good = os.path.join(SOURCE_DIR, "tests", "fixtures", "stories260k")
header, data = st.read(os.path.join(good, "model.safetensors"))
d = os.path.join(args.workdir, "sharded")
shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
shutil.copy(os.path.join(good, "config.json"), d)
first = {n for n in header if n.startswith("model.layers.0.") or n.startswith("model.layers.1.") or n == "model.norm.weight"}
ha, da, hb, db = st.split(header, data, first)
st.write(os.path.join(d, "model-00001-of-00002.safetensors"), ha, da)
st.write(os.path.join(d, "model-00002-of-00002.safetensors"), hb, db)
weight_map = {n: "model-00001-of-00002.safetensors" for n in ha}
weight_map.update({n: "model-00002-of-00002.safetensors" for n in hb})
json.dump({"metadata": {}, "weight_map": weight_map}, open(os.path.join(d, "model.safetensors.index.json"), "w"))

case = json.load(open(os.path.join(good, "expected.json")))["cases"][0]
out = run_json([args.kvlm, "run", "-m", d, "--ids", ",".join(map(str, case["prompt_ids"])), "-n", "200",
                "--dtype", "f32", "--json"])
c = Checker()
c.check(out["generated_ids"] == case["generated_ids"], "sharded checkpoint: greedy ids differ from run.c")
c.finish()
