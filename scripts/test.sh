#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: gtest unit tests and the
# script tests that compare kvlm with llama2.c goldens, torch, Jinja2 and the
# JavaScript port of the Hugging Face tokenizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The real model and llama.cpp (built beside the project, minutes the first
# time) that test_llamacpp_smollm2 compares against.
scripts/llama_cpp_models.sh >/dev/null
BUILD_DIR=${KVLM_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"
