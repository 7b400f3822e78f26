#!/usr/bin/env bash
# Creates (once) the virtual environment that holds the light PyPI packages the
# tests compare against (gguf: the reference GGUF reader, writer and
# dequantizers; openai: the official client, against `kvlm serve`), on
# Debian's /usr/bin/python3 with its site packages (numpy, torch, jinja2)
# visible. Prints the environment's python.
# Location: $KVLM_PYENV, else ~/.cache/kvlm/pyenv.
set -euo pipefail
PYENV=${KVLM_PYENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kvlm/pyenv}
PACKAGES=(gguf==0.19.0 openai==2.8.1)
if [ ! -x "$PYENV/bin/python" ] || ! "$PYENV/bin/python" -c "import gguf, openai" 2>/dev/null; then
  echo "python_env: creating $PYENV (${PACKAGES[*]})" >&2
  mkdir -p "$(dirname "$PYENV")"
  /usr/bin/python3 -m venv --system-site-packages "$PYENV" >&2
  "$PYENV/bin/python" -m pip install -q --disable-pip-version-check "${PACKAGES[@]}" >&2
fi
echo "$PYENV/bin/python"
