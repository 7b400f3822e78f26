#!/usr/bin/env bash
# The README's main job: set up, then generate with the real (tiny) trained
# stories260k Llama that ships in tests/fixtures, and describe a 1B-shaped model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${KVLM_BUILD_DIR:-build}
echo "== kvlm run on stories260k (a real trained tiny Llama; greedy):"
"$BUILD_DIR"/kvlm run -m tests/fixtures/stories260k --ids 1,403,407,261,378 -n 40 --dtype f32
