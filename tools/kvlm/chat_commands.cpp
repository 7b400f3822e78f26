#include "chat_commands.h"

#include <array>
#include <string>
#include <utility>

namespace kvlm::cli {
namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

constexpr std::array<std::pair<std::string_view, ChatCommand>, 7> kCommands{{
    {"help", ChatCommand::help},
    {"reset", ChatCommand::reset},
    {"system", ChatCommand::system},
    {"save", ChatCommand::save},
    {"load", ChatCommand::load},
    {"exit", ChatCommand::exit},
    {"quit", ChatCommand::exit},
}};

// The offset of the first byte that does not start or continue a valid
// UTF-8 character (no overlong forms, surrogates or code points past
// U+10FFFF), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (b < 0x80) n = 1;
    else if (b >= 0xC2 && b <= 0xDF) n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else
      return i;
    for (std::size_t k = 1; k < n; ++k) {
      if (i + k >= s.size()) return i;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace

ChatInput parse_chat_input(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a CRLF file piped in
  if (const std::size_t bad = invalid_utf8_at(line); bad != std::string_view::npos)
    return {ChatCommand::not_utf8, std::to_string(bad + 1)};
  if (trim(line).empty()) return {ChatCommand::empty, {}};
  if (line.starts_with("//")) return {ChatCommand::message, std::string(line.substr(1))};
  if (!line.starts_with('/')) return {ChatCommand::message, std::string(line)};
  const std::string_view body = line.substr(1);
  const auto space = body.find_first_of(" \t");
  const std::string_view name = body.substr(0, space);
  const std::string_view arg = space == std::string_view::npos ? std::string_view() : trim(body.substr(space));
  for (const auto& [command_name, command] : kCommands)
    if (name == command_name) return {command, std::string(arg)};
  std::string unknown = "/";
  unknown.append(name);
  return {ChatCommand::unknown, std::move(unknown)};
}

std::string_view chat_help() {
  return "/help           this list\n"
         "/reset          start the conversation over (the system prompt stays)\n"
         "/system [TEXT]  set the system prompt and start over; without TEXT, show it\n"
         "/save FILE      save the conversation (FILE, JSON) and its KV cache (FILE.kvstate)\n"
         "/load FILE      continue a saved conversation\n"
         "/exit, /quit    leave (so do Ctrl-D and Ctrl-C twice at an empty prompt)\n"
         "//TEXT          send a message that starts with '/'\n"
         "Ctrl-C stops a reply; Up and Down recall earlier lines.\n";
}

}  // namespace kvlm::cli
