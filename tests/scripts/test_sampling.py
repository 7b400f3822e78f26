"""Sampling filters against an independent numpy implementation of transformers'
logits processors (RepetitionPenalty, Temperature, TopK, TopP, MinP, in that
order), through the hidden `kvlm sample-check`; fixed seeds reproduce;
temperature 0 is greedy."""
import json

import numpy as np

from kvlm_test_util import Checker, parse_args, run

args = parse_args()
c = Checker()
rng = np.random.default_rng(1234)


def reference(logits, history, greedy=False, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
              repetition_penalty=1.0):
    x = np.array(logits, dtype=np.float64)
    if repetition_penalty != 1.0:
        ids = np.unique(np.array(history, dtype=np.int64))
        ids = ids[(ids >= 0) & (ids < len(x))]
        s = x[ids]
        x[ids] = np.where(s < 0, s * repetition_penalty, s / repetition_penalty)
    if greedy or temperature <= 0:
        p = np.zeros_like(x)
        p[int(np.argmax(x))] = 1.0
        return p
    x = x / temperature
    if 0 < top_k < len(x):
        kth = np.sort(x)[::-1][top_k - 1]
        x[x < kth] = -np.inf
    if top_p < 1.0:
        order = np.argsort(x, kind="stable")  # ascending
        probs = np.exp(x[order] - np.max(x))
        probs /= probs.sum()
        cum = np.cumsum(probs)
        remove = cum <= 1.0 - top_p
        remove[-1] = False
        x[order[remove]] = -np.inf
    if min_p > 0.0:
        probs = np.exp(x - np.max(x))
        probs /= probs.sum()
        x[probs < min_p * probs.max()] = -np.inf
    p = np.exp(x - np.max(x))
    return p / p.sum()


cases = []
for i in range(60):
    v = int(rng.integers(5, 300))
    logits = (rng.standard_normal(v) * rng.uniform(0.5, 4.0)).astype(np.float32)
    case = {"logits": logits.tolist(), "history": rng.integers(0, v, size=int(rng.integers(0, 20))).tolist(),
            "temperature": float(rng.choice([0.3, 0.6, 1.0, 1.7])), "seed": int(rng.integers(0, 2**31)), "draws": 16}
    kind = i % 6
    if kind in (0, 5):
        case["top_k"] = int(rng.integers(1, v + 3))
    if kind in (1, 5):
        case["top_p"] = float(rng.choice([0.5, 0.8, 0.9, 0.95]))
    if kind in (2, 5):
        case["min_p"] = float(rng.choice([0.02, 0.05, 0.1, 0.3]))
    if kind in (3, 5):
        case["repetition_penalty"] = float(rng.choice([0.8, 1.1, 1.3, 2.0]))
    if kind == 4:
        case["temperature"] = 0.0
        case["repetition_penalty"] = 1.5
    cases.append(case)
# Ties at the k-th value stay (HF keeps every logit >= the k-th largest).
cases.append({"logits": [1.0, 3.0, 3.0, 2.0, 3.0], "history": [], "top_k": 2, "draws": 8, "seed": 3})
# Greedy flag with a repetition penalty that changes the winner.
cases.append({"logits": [1.0, 5.0, 4.0], "history": [1], "greedy": True, "repetition_penalty": 2.0, "draws": 4})

stdin = json.dumps({"cases": cases})
out1 = json.loads(run([args.kvlm, "sample-check"], input=stdin).stdout)
out2 = json.loads(run([args.kvlm, "sample-check"], input=stdin).stdout)
c.check(len(out1) == len(cases), "one result per case")
for i, (case, got) in enumerate(zip(cases, out1)):
    params = {k: case[k] for k in ("greedy", "temperature", "top_k", "top_p", "min_p", "repetition_penalty") if k in case}
    want = reference(case["logits"], case["history"], **params)
    p = np.array(got["probs"])
    c.check(np.array_equal(p > 0, want > 0), f"case {i} {params}: kept set differs")
    c.check(np.allclose(p, want, rtol=1e-9, atol=1e-12), f"case {i} {params}: probabilities differ "
            f"(max {np.max(np.abs(p - want)):.3g})")
    c.check(all(want[d] > 0 for d in got["draws"]), f"case {i}: drew a removed id")
    if case.get("temperature", 1.0) == 0.0 or case.get("greedy"):
        c.check(set(got["draws"]) == {int(np.argmax(want))}, f"case {i}: temperature 0 is not greedy")
c.check(out1 == out2, "the same seeds give the same draws")
c.check(cases[-1]["logits"] and out1[-1]["draws"] == [2] * 4, "repetition penalty changes the greedy choice")

# Draws follow the distribution: 4000 draws of a fixed case, chi-square-ish bound.
dist_case = {"logits": [2.0, 1.0, 0.5, 0.0, -1.0], "history": [], "temperature": 0.7, "top_p": 0.9, "draws": 4000,
             "seed": 7}
got = json.loads(run([args.kvlm, "sample-check"], input=json.dumps({"cases": [dist_case]})).stdout)[0]
want = reference(dist_case["logits"], [], temperature=0.7, top_p=0.9)
freq = np.bincount(got["draws"], minlength=5) / 4000.0
c.check(np.all(np.abs(freq - want) < 0.03), f"draw frequencies {freq} far from {want}")
c.finish()
