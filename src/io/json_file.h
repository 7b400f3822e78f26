// Reading JSON files with errors that name the file.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace kvlm {

std::string read_text_file(const std::filesystem::path& path);
// Throws Error "<path>: malformed JSON: ..." or "cannot open <path>".
nlohmann::json parse_json(const std::string& text, const std::string& source);
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace kvlm
