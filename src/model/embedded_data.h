// The real Llama-3.2-1B-Instruct configuration files, compiled into the
// binary from data/llama-3.2-1b-instruct (see cmake/embed_file.cmake).
#pragma once

#include <string_view>

namespace kvlm::embedded {

std::string_view llama32_config_json();
std::string_view llama32_generation_config_json();
std::string_view llama32_tokenizer_config_json();
std::string_view llama32_chat_template_jinja();

}  // namespace kvlm::embedded
