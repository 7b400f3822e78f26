// The C API's error side: status strings, the thread-local last error, the
// exception-to-status mapping, and the caller-owned output buffers.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <new>

#include "c_api/c_api.h"
#include "kvlm/error.h"

#ifndef KVLM_VERSION_STRING
#error "KVLM_VERSION_STRING must be defined by the build (the project version)"
#endif

namespace kvlm::capi {
namespace {

thread_local std::string last_error;
// Set when the message itself could not be stored.
thread_local bool last_error_lost = false;

}  // namespace

kvlm_status fail(kvlm_status status, std::string_view message) noexcept {
  try {
    last_error.assign(message);
    last_error_lost = false;
  } catch (...) {
    last_error_lost = true;
  }
  return status;
}

void clear_error() noexcept {
  last_error.clear();
  last_error_lost = false;
}

kvlm_status from_exception(kvlm_status error_status) noexcept {
  try {
    throw;
  } catch (const ContextOverflowError& e) {
    return fail(KVLM_ERR_CONTEXT_OVERFLOW, e.what());
  } catch (const Error& e) {
    return fail(error_status, e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(error_status, e.what());
  } catch (const std::bad_alloc&) {
    return fail(KVLM_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(KVLM_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(KVLM_ERR_INTERNAL, "unknown exception");
  }
}

kvlm_status check_output(const void* buffer, std::size_t capacity, const char* what) {
  if (!buffer && capacity > 0) return fail(KVLM_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL with a non-zero capacity");
  return KVLM_OK;
}

kvlm_status write_text(std::string_view text, char* buffer, std::size_t capacity, std::size_t* text_len) {
  if (text_len) *text_len = text.size();
  if (!buffer) return KVLM_OK;  // a length query (check_output refused a NULL with a capacity)
  if (text.size() < capacity) {
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    return KVLM_OK;
  }
  // The longest prefix that fits with its NUL, ending before a continuation
  // byte, so that the caller never sees half a character.
  std::size_t n = capacity == 0 ? 0 : capacity - 1;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  if (capacity > 0) {
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
  }
  return fail(KVLM_ERR_BUFFER_TOO_SMALL, "the text of " + std::to_string(text.size()) + " bytes needs a buffer of " +
                                             std::to_string(text.size() + 1) + ", got " + std::to_string(capacity));
}

kvlm_status write_ids(std::span<const std::int32_t> ids, std::int32_t* buffer, std::size_t capacity,
                      std::size_t* n_ids) {
  if (n_ids) *n_ids = ids.size();
  if (!buffer) return KVLM_OK;
  const std::size_t n = std::min(ids.size(), capacity);
  if (n > 0) std::memcpy(buffer, ids.data(), n * sizeof(std::int32_t));
  if (n == ids.size()) return KVLM_OK;
  return fail(KVLM_ERR_BUFFER_TOO_SMALL, std::to_string(ids.size()) + " ids do not fit a buffer of " + std::to_string(capacity));
}

std::optional<DType> parse_dtype_param(const char* name) {
  if (!name) return std::nullopt;
  return parse_dtype(name);
}

void fill_info(kvlm_generation_info* info, StopReason reason, const Timings& timings, std::size_t generated) noexcept {
  if (!info) return;
  switch (reason) {
    case StopReason::eos: info->stop_reason = KVLM_STOP_EOS; break;
    case StopReason::length: info->stop_reason = KVLM_STOP_LENGTH; break;
    case StopReason::stop: info->stop_reason = KVLM_STOP_STRING; break;
    case StopReason::cancelled: info->stop_reason = KVLM_STOP_CANCELLED; break;
    case StopReason::context: info->stop_reason = KVLM_STOP_CONTEXT; break;
  }
  info->prompt_tokens = timings.prompt_tokens;
  info->cached_tokens = timings.cached_tokens;
  info->generated_tokens = static_cast<std::int32_t>(generated);
  info->prefill_ms = timings.prefill_ms;
  info->decode_ms_per_token = timings.decode_ms_per_token();
}

}  // namespace kvlm::capi

extern "C" {

const char* kvlm_status_string(kvlm_status status) {
  switch (status) {
    case KVLM_OK: return "ok";
    case KVLM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KVLM_ERR_LOAD: return "load failed";
    case KVLM_ERR_UNSUPPORTED: return "unsupported by this model";
    case KVLM_ERR_CONTEXT_OVERFLOW: return "context overflow";
    case KVLM_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case KVLM_ERR_OUT_OF_MEMORY: return "out of memory";
    case KVLM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* kvlm_last_error(void) {
  if (kvlm::capi::last_error_lost) return "out of memory (while recording an error)";
  return kvlm::capi::last_error.c_str();
}

const char* kvlm_version(void) { return KVLM_VERSION_STRING; }

}  // extern "C"
