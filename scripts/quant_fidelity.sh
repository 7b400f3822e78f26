#!/usr/bin/env bash
# Quantization fidelity on a real model, kvlm against llama.cpp: perplexity,
# mean / 99th-percentile KL divergence and top-1 agreement against each
# engine's own f32 run of the same weights (SmolLM2-135M-Instruct, its F32
# GGUF made by llama-quantize), over the GNU grep manual (Debian's grep
# package, /usr/share/info/grep.info.gz: 30k tokens, 59 chunks of 512).
#   scripts/quant_fidelity.sh [OUT_DIR]           (default /tmp/kvlm-fidelity; ~1.5 GB of KL bases)
#   scripts/quant_fidelity.sh --table [OUT_DIR]   (the table again from a run's logs)
# Prints one markdown table row per engine and weight type.
set -euo pipefail
cd "$(dirname "$0")/.."

row() {  # engine type log
  local ppl kld p99 top
  ppl=$(grep -oE '^perplexity [0-9.]+|Final estimate: PPL = [0-9.]+|^Mean PPL\(Q\) +: +[0-9.]+' "$3" | grep -oE '[0-9.]+$' |
    tail -1 || true)
  kld=$(grep -E '^Mean +KLD' "$3" | sed -E 's/.*KLD: *([0-9.]+).*/\1/' | head -1 || true)
  p99=$(grep -E '^99\.0% +KLD' "$3" | sed -E 's/.*KLD: *([0-9.]+).*/\1/' | head -1 || true)
  top=$(grep -E '^Same top p' "$3" | sed -E 's/.*top p: *([0-9.]+).*/\1/' | head -1 || true)
  echo "| $1 | $2 | $ppl | ${kld:--} | ${p99:--} | ${top:--} |"
}
header() {
  echo "| engine | weights | perplexity | mean KLD | p99 KLD | top-1 agree % |"
  echo "|---|---|--:|--:|--:|--:|"
}

if [ "${1:-}" = --table ]; then
  OUT=${2:-/tmp/kvlm-fidelity}
  header
  for dt in f32 f16 bf16 q8 q4; do row kvlm $dt "$OUT/kvlm-$dt.log"; done
  for q in F32 f16 q8_0 q4_0; do row llama.cpp "$(echo $q | tr a-z A-Z)" "$OUT/llama-$q.log"; done
  exit 0
fi

OUT=${1:-/tmp/kvlm-fidelity}
mkdir -p "$OUT"
KVLM=${KVLM:-build/kvlm}
MODELS=$(scripts/llama_cpp_models.sh)
BIN=$(scripts/llama_cpp.sh)
F32=$MODELS/smollm2-135m-instruct-f32.gguf
TEXT=$OUT/grep.txt
zcat /usr/share/info/grep.info.gz > "$TEXT"
THREADS=${KVLM_THREADS:-2}

header
[ -s "$OUT/kvlm-base.kld" ] || "$KVLM" perplexity -m "$F32" --dtype f32 -f "$TEXT" -t "$THREADS" \
  --kl-base "$OUT/kvlm-base.kld" > "$OUT/kvlm-f32.log" 2>&1
row kvlm f32 "$OUT/kvlm-f32.log"
for dt in f16 bf16 q8 q4; do
  "$KVLM" perplexity -m "$F32" --dtype $dt -f "$TEXT" -t "$THREADS" --kl-base "$OUT/kvlm-base.kld" \
    > "$OUT/kvlm-$dt.log" 2>&1
  row kvlm $dt "$OUT/kvlm-$dt.log"
done
"$BIN/llama-perplexity" -m "$F32" -f "$TEXT" -c 512 -b 512 -t "$THREADS" \
  --kl-divergence-base "$OUT/llama-base.kld" > "$OUT/llama-F32.log" 2>&1
row llama.cpp F32 "$OUT/llama-F32.log"
for q in f16 q8_0 q4_0; do
  "$BIN/llama-perplexity" -m "$MODELS/smollm2-135m-instruct-$q.gguf" -c 512 -b 512 -t "$THREADS" \
    --kl-divergence-base "$OUT/llama-base.kld" --kl-divergence > "$OUT/llama-$q.log" 2>&1
  row llama.cpp "$(echo $q | tr a-z A-Z)" "$OUT/llama-$q.log"
done
