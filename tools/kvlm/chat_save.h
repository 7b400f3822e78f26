// `kvlm chat`'s /save and /load: the conversation as JSON (FILE) and the
// session's KV cache with its token ids beside it (FILE.kvstate, written by
// Session::save), so a loaded conversation continues without a new prefill.
#pragma once

#include <filesystem>
#include <string>

#include "chat_conversation.h"
#include "kvlm/session.h"

namespace kvlm::cli {

// What the KV cache was computed with; a cache from anything else is not reused.
struct ChatModelId {
  std::string model;  // the resolved model path
  std::string dtype;  // the weights' compute dtype
};

// "~/x" -> "$HOME/x"; anything else unchanged.
std::filesystem::path expand_user_path(const std::string& path);

// Writes FILE and FILE.kvstate (each through a temporary file and a rename).
// Throws kvlm::Error naming the file.
void save_chat(const std::filesystem::path& file, const ChatConversation& conversation, const Session& session,
               const ChatModelId& id);

// Reads FILE into `conversation` and FILE.kvstate into `session`. A bad FILE
// throws kvlm::Error and changes nothing. A cache that cannot be reused
// (another model or dtype, another --ctx, a missing or damaged FILE.kvstate)
// leaves the session empty, so the next turn prefills the whole conversation;
// the returned text then says why (empty when the cache was restored).
std::string load_chat(const std::filesystem::path& file, ChatConversation& conversation, Session& session,
                      const ChatModelId& id);

}  // namespace kvlm::cli
