#include "chat_conversation.h"

#include <utility>

namespace kvlm::cli {

ChatConversation::ChatConversation(std::string system) : system_(std::move(system)) { restart(); }

void ChatConversation::restart() {
  messages_.clear();
  if (!system_.empty()) messages_.push_back({"system", system_});
}

void ChatConversation::set_system(std::string system) {
  system_ = std::move(system);
  restart();
}

void ChatConversation::assign(std::vector<ChatMessage> messages) {
  messages_ = std::move(messages);
  system_ = !messages_.empty() && messages_.front().role == "system" ? messages_.front().content : std::string();
}

void ChatConversation::add(std::string role, std::string content) {
  messages_.push_back({std::move(role), std::move(content)});
}

void ChatConversation::drop_last() {
  if (!messages_.empty()) messages_.pop_back();
}

ChatFit ChatConversation::fit(const Session& session, int reserve) {
  const std::size_t max_ctx = std::size_t(session.state().max_ctx());
  const std::size_t first = !messages_.empty() && messages_.front().role == "system" ? 1 : 0;
  ChatFit f;
  f.ids = session.chat_ids(messages_, /*add_generation_prompt=*/true);
  if (f.ids.size() + std::size_t(reserve) <= max_ctx) return f;
  // A message too long for any conversation must not cost the old turns.
  std::vector<ChatMessage> alone(messages_.begin(), messages_.begin() + std::ptrdiff_t(first));
  alone.push_back(messages_.back());
  const std::vector<std::int32_t> alone_ids = session.chat_ids(alone, true);
  if (alone_ids.size() >= max_ctx) {
    f.fits = false;
    f.ids = alone_ids;
    return f;
  }
  // A turn is a user message and what follows up to the next one (the
  // reply); the newest message is never part of it. With nothing left to
  // drop, any room for a reply will do.
  while (f.ids.size() + std::size_t(reserve) > max_ctx && first + 1 < messages_.size()) {
    std::size_t end = first + 1;
    while (end + 1 < messages_.size() && messages_[end].role != "user") ++end;
    messages_.erase(messages_.begin() + std::ptrdiff_t(first), messages_.begin() + std::ptrdiff_t(end));
    ++f.dropped_turns;
    f.ids = session.chat_ids(messages_, true);
  }
  return f;
}

}  // namespace kvlm::cli
