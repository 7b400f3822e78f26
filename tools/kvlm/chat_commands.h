// What a line typed into `kvlm chat` asks for: a message for the model or a
// /command. Commands never reach the model; `//text` sends "/text".
#pragma once

#include <string>
#include <string_view>

namespace kvlm::cli {

// not_utf8: a line that is not valid UTF-8 (a pipe from another encoding);
// the tokenizer could not take it, so it goes nowhere.
enum class ChatCommand { message, empty, help, reset, system, save, load, exit, unknown, not_utf8 };

struct ChatInput {
  ChatCommand command = ChatCommand::message;
  // The message text, the command's argument (trimmed), for `unknown` the
  // command as typed, for `not_utf8` the 1-based byte where decoding fails.
  std::string arg;
};

ChatInput parse_chat_input(std::string_view line);

// The /help text: one line per command.
std::string_view chat_help();

}  // namespace kvlm::cli
