// Every failure inside the chat-template renderer is a kvlm::Error; the
// renderer adds "chat template: line N:" on the way out.
#pragma once

#include <string>

#include "kvlm/error.h"

namespace kvlm::chat {

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace kvlm::chat
