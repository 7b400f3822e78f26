"""stories260k (a real trained tiny Llama) through the CLI against llama2.c's run.c:
200 greedy ids exactly, and first-step logits within 1e-4 of run.c's."""
import json
import os

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run_json

args = parse_args()
fixture = os.path.join(SOURCE_DIR, "tests", "fixtures", "stories260k")
expected = json.load(open(os.path.join(fixture, "expected.json")))
c = Checker()

for dtype in ["f32", "f16"]:
    for case in expected["cases"]:
        ids = ",".join(map(str, case["prompt_ids"]))
        out = run_json([args.kvlm, "run", "-m", fixture, "--ids", ids, "-n", str(case["max_new_tokens"]),
                        "--dtype", dtype, "--json", "--top-logits", "512"])
        name = f"{case['name']} ({dtype})"
        c.check(out["prompt_ids"] == case["prompt_ids"], f"{name}: prompt ids echoed")
        if dtype == "f32":
            # f32 is the exactness mode: every one of the 200 greedy ids must match run.c.
            got, want = out["generated_ids"], case["generated_ids"]
            first_diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
            c.check(got == want, f"{name}: greedy ids differ from run.c (len {len(got)} vs {len(want)}, first diff at {first_diff})")
            c.check(out["stop_reason"] == "length", f"{name}: stop_reason {out['stop_reason']}")
            # First-step logits: all 512 against run.c's own.
            first = {tid: logit for tid, logit in out["top_logits"][0]}
            ref = case["first_step_logits_runc"]
            worst = max(abs(first[i] - ref[i]) for i in range(len(ref)))
            scale = max(abs(v) for v in ref)
            c.check(worst <= 1e-4 * max(1.0, scale), f"{name}: first-step logits max abs diff {worst:.2e} (scale {scale:.2f})")
            print(f"{name}: 200/200 ids, first-step max |dlogit| {worst:.2e}")
        else:
            # f16 weights move logits by ~1e-3; the trajectory must agree until a near-tie.
            got, want = out["generated_ids"], case["generated_ids"]
            agree = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), len(want))
            c.check(agree >= min(20, len(want)), f"{name}: f16 greedy ids diverge at step {agree}")
            print(f"{name}: f16 agrees for {agree} of {len(want)} steps")

c.finish()
