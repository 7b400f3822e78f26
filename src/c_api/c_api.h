// Internals shared by the C API's files: the handle structs behind the
// opaque types of kvlm.h, the exception barrier and the output-buffer rules.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kvlm/chat_template.h"
#include "kvlm/kvlm.h"
#include "kvlm/model.h"
#include "kvlm/providers.h"
#include "kvlm/session.h"
#include "kvlm/tokenizer.h"

struct kvlm_model {
  std::shared_ptr<const kvlm::Model> model;
  std::shared_ptr<const kvlm::Tokenizer> tokenizer;          // null when the model has none
  std::shared_ptr<const kvlm::ChatTemplate> chat_template;   // null when the model has none
};

struct kvlm_session {
  explicit kvlm_session(kvlm::Session s) : session(std::move(s)) {}
  kvlm::Session session;
  std::atomic<bool> cancel{false};
};

struct kvlm_translator {
  kvlm::TranslationProvider provider;
};

struct kvlm_copyeditor {
  kvlm::CopyEditProvider provider;
};

namespace kvlm::capi {

// Sets this thread's last error and returns `status`.
kvlm_status fail(kvlm_status status, std::string_view message) noexcept;
void clear_error() noexcept;
// Maps the exception in flight to a status (and its message to the last
// error). kvlm::Error becomes `error_status`: the one kvlm exception type
// means a bad file for a load and a bad input for the other calls.
kvlm_status from_exception(kvlm_status error_status) noexcept;

// The barrier every entry point goes through: no exception crosses the C API.
template <class F>
kvlm_status guarded(kvlm_status error_status, F&& body) noexcept {
  try {
    clear_error();
    return body();
  } catch (...) {
    return from_exception(error_status);
  }
}

// Checks an output pair before any work is done: a buffer with a capacity,
// or (NULL, 0) for a length query.
kvlm_status check_output(const void* buffer, std::size_t capacity, const char* what);
// Writes `text` by kvlm.h's output-buffer rules (the length always, the text
// NUL-terminated and cut at a UTF-8 boundary when it does not fit).
kvlm_status write_text(std::string_view text, char* buffer, std::size_t capacity, std::size_t* text_len);
kvlm_status write_ids(std::span<const std::int32_t> ids, std::int32_t* buffer, std::size_t capacity,
                      std::size_t* n_ids);

// Parses a dtype name of the params structs (NULL: unset).
std::optional<DType> parse_dtype_param(const char* name);
void fill_info(kvlm_generation_info* info, StopReason reason, const Timings& timings, std::size_t generated) noexcept;

}  // namespace kvlm::capi
