// The Hugging Face files a GGUF's metadata stands for: config.json,
// generation_config.json, tokenizer.json and tokenizer_config.json, built
// from llama.cpp's keys so that the loaders of a model directory read a GGUF
// unchanged. Each throws Error naming the file and the key at fault.
#pragma once

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"

namespace kvlm {

// llama.cpp's tokenizer.ggml.token_type values.
namespace gguf_token_type {
constexpr std::int64_t normal = 1, unknown = 2, control = 3, user_defined = 4;
}

// Architectures llama and qwen2; any other general.architecture is an Error.
nlohmann::json gguf_config_json(const GgufFile& gguf);
// eos_token_id lists every end-of-generation token llama.cpp stops on.
nlohmann::json gguf_generation_config_json(const GgufFile& gguf);
// tokenizer.ggml.model gpt2 (byte-level BPE, pre-tokenizer by
// tokenizer.ggml.pre) or llama (SentencePiece scores, byte fallback).
nlohmann::json gguf_tokenizer_json(const GgufFile& gguf);
// bos/eos names, add_bos_token and the chat template.
nlohmann::json gguf_tokenizer_config_json(const GgufFile& gguf);

}  // namespace kvlm
