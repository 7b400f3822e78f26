// The messages of a `kvlm chat` conversation, and fitting them into the
// context: the oldest turns give way, the system prompt and the newest
// message stay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvlm/session.h"

namespace kvlm::cli {

struct ChatFit {
  std::vector<std::int32_t> ids;  // the prompt, with the generation prompt
  int dropped_turns = 0;          // oldest user + assistant pairs dropped to make room
  bool fits = true;               // false: the system prompt and the newest message alone fill the context
};

class ChatConversation {
 public:
  explicit ChatConversation(std::string system = {});

  const std::string& system() const { return system_; }
  const std::vector<ChatMessage>& messages() const { return messages_; }

  // Keeps only the system message.
  void restart();
  void set_system(std::string system);
  // Replaces everything (a loaded conversation); a leading system message
  // becomes the system prompt.
  void assign(std::vector<ChatMessage> messages);
  void add(std::string role, std::string content);
  void drop_last();

  // Drops the oldest turns until the prompt leaves `reserve` tokens of
  // `session`'s context for the reply; with no turn left to drop, any room
  // will do. When the system prompt and the newest message alone fill the
  // context, nothing is dropped and `fits` is false (the caller drops that
  // message).
  ChatFit fit(const Session& session, int reserve);

 private:
  std::string system_;
  std::vector<ChatMessage> messages_;
};

}  // namespace kvlm::cli
