// C API: sessions and the generation calls (text, chat, ids).
#include <cmath>
#include <string>
#include <vector>

#include "c_api/c_api.h"
#include "kvlm/error.h"

using namespace kvlm::capi;

namespace {

// Checks the parameters and turns them into GenerateOptions that stream to
// the C callbacks and watch the session's cancel flag.
kvlm_status to_options(const kvlm_generate_params* params, kvlm_session& session, const char* fn,
                       kvlm::GenerateOptions& go) {
  const kvlm_generate_params p = params ? *params : kvlm_generate_default_params();
  const std::string where = std::string(fn) + ": ";
  if (p.max_tokens < 0) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "max_tokens must be >= 0");
  if (!(p.temperature >= 0.0) || !std::isfinite(p.temperature))
    return fail(KVLM_ERR_INVALID_ARGUMENT, where + "temperature must be a finite number >= 0");
  if (!(p.top_p > 0.0 && p.top_p <= 1.0)) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "top_p must be in (0, 1]");
  if (p.top_k < 0) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "top_k must be >= 0");
  if (!(p.min_p >= 0.0 && p.min_p <= 1.0)) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "min_p must be in [0, 1]");
  if (!(p.repetition_penalty > 0.0) || !std::isfinite(p.repetition_penalty))
    return fail(KVLM_ERR_INVALID_ARGUMENT, where + "repetition_penalty must be a finite number > 0");
  if (p.n_stop > 0 && !p.stop) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "stop is NULL with n_stop > 0");
  for (std::size_t i = 0; i < p.n_stop; ++i)
    if (!p.stop[i]) return fail(KVLM_ERR_INVALID_ARGUMENT, where + "stop[" + std::to_string(i) + "] is NULL");
  if (!session.session.tokenizer() && (p.n_stop > 0 || p.on_text))
    return fail(KVLM_ERR_UNSUPPORTED, where + "stop strings and on_text need a tokenizer; the model has none");

  go.max_new_tokens = p.max_tokens;
  go.sampling.greedy = p.temperature <= 0.0;
  go.sampling.temperature = p.temperature;
  go.sampling.top_p = p.top_p;
  go.sampling.top_k = p.top_k;
  go.sampling.min_p = p.min_p;
  go.sampling.repetition_penalty = p.repetition_penalty;
  go.sampling.seed = p.seed;
  go.stop.assign(p.stop, p.stop + p.n_stop);
  go.ignore_eos = p.ignore_eos;
  if (p.on_text)
    go.on_text = [cb = p.on_text, user = p.user_data](std::string_view piece) {
      const std::string terminated(piece);  // the callback gets a NUL-terminated piece
      return cb(terminated.c_str(), terminated.size(), user) != 0;
    };
  if (p.on_token) go.on_token = [cb = p.on_token, user = p.user_data](std::int32_t id) { return cb(id, user) != 0; };
  go.cancel = &session.cancel;
  return KVLM_OK;
}

// The common path of kvlm_generate and kvlm_chat: `run` generates with the options.
template <class Run>
kvlm_status generate_text_with(kvlm_session* session, const kvlm_generate_params* params, const char* fn, char* text,
                               size_t capacity, size_t* text_len, kvlm_generation_info* info, Run run) {
  if (const kvlm_status s = check_output(text, capacity, (std::string(fn) + ": text").c_str()); s != KVLM_OK) return s;
  if (!session->session.tokenizer())
    return fail(KVLM_ERR_UNSUPPORTED, std::string(fn) + ": the model has no tokenizer.json (use kvlm_generate_ids)");
  kvlm::GenerateOptions go;
  if (const kvlm_status s = to_options(params, *session, fn, go); s != KVLM_OK) return s;
  session->cancel.store(false);
  const kvlm::GenerateResult r = run(go);
  fill_info(info, r.stop_reason, r.timings, r.generated_ids.size());
  return write_text(r.text, text, capacity, text_len);
}

}  // namespace

extern "C" {

kvlm_session_params kvlm_session_default_params(void) {
  kvlm_session_params p;
  p.context_size = 0;
  p.date = nullptr;
  return p;
}

kvlm_status kvlm_session_create(const kvlm_model* model, const kvlm_session_params* params, kvlm_session** session) {
  if (session) *session = nullptr;
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model || !session)
      return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_session_create: model and session must not be NULL");
    const kvlm_session_params p = params ? *params : kvlm_session_default_params();
    if (p.context_size < 0) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_session_create: context_size must be >= 0");
    kvlm::SessionOptions so;
    so.max_ctx = p.context_size;
    if (p.date) so.date = p.date;
    *session = new kvlm_session(kvlm::Session(model->model, model->tokenizer, model->chat_template, so));
    return KVLM_OK;
  });
}

void kvlm_session_free(kvlm_session* session) { delete session; }

kvlm_status kvlm_session_reset(kvlm_session* session) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!session) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_session_reset: session is NULL");
    session->session.reset();
    return KVLM_OK;
  });
}

kvlm_status kvlm_session_cancel(kvlm_session* session) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!session) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_session_cancel: session is NULL");
    session->cancel.store(true);
    return KVLM_OK;
  });
}

int32_t kvlm_session_cached_tokens(const kvlm_session* session) {
  return session ? static_cast<int32_t>(session->session.cached_ids().size()) : -1;
}

kvlm_generate_params kvlm_generate_default_params(void) {
  kvlm_generate_params p;
  p.max_tokens = 256;
  p.temperature = 0.0;
  p.top_p = 1.0;
  p.top_k = 0;
  p.min_p = 0.0;
  p.repetition_penalty = 1.0;
  p.seed = 0;
  p.stop = nullptr;
  p.n_stop = 0;
  p.ignore_eos = false;
  p.on_text = nullptr;
  p.on_token = nullptr;
  p.user_data = nullptr;
  return p;
}

kvlm_status kvlm_generate(kvlm_session* session, const char* prompt, const kvlm_generate_params* params, char* text,
                          size_t capacity, size_t* text_len, kvlm_generation_info* info) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session || !prompt) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_generate: session and prompt must not be NULL");
    return generate_text_with(session, params, "kvlm_generate", text, capacity, text_len, info,
                              [&](const kvlm::GenerateOptions& go) { return session->session.generate_text(prompt, go); });
  });
}

kvlm_status kvlm_chat(kvlm_session* session, const kvlm_chat_message* messages, size_t n_messages,
                      const kvlm_generate_params* params, char* text, size_t capacity, size_t* text_len,
                      kvlm_generation_info* info) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session || !messages || n_messages == 0)
      return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_chat: session and messages must not be NULL, n_messages > 0");
    std::vector<kvlm::ChatMessage> chat;
    chat.reserve(n_messages);
    for (std::size_t i = 0; i < n_messages; ++i) {
      if (!messages[i].role || !messages[i].content)
        return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_chat: messages[" + std::to_string(i) + "] has a NULL role or content");
      chat.push_back({messages[i].role, messages[i].content});
    }
    if (!session->session.chat_template())
      return fail(KVLM_ERR_UNSUPPORTED, "kvlm_chat: the model has no chat template");
    return generate_text_with(session, params, "kvlm_chat", text, capacity, text_len, info,
                              [&](const kvlm::GenerateOptions& go) { return session->session.chat(chat, go); });
  });
}

kvlm_status kvlm_generate_ids(kvlm_session* session, const int32_t* prompt, size_t n_prompt,
                              const kvlm_generate_params* params, int32_t* ids, size_t capacity, size_t* n_ids,
                              kvlm_generation_info* info) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!session || !prompt || n_prompt == 0)
      return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_generate_ids: session and prompt must not be NULL, n_prompt > 0");
    if (const kvlm_status s = check_output(ids, capacity, "kvlm_generate_ids: ids"); s != KVLM_OK) return s;
    kvlm::GenerateOptions go;
    if (const kvlm_status s = to_options(params, *session, "kvlm_generate_ids", go); s != KVLM_OK) return s;
    session->cancel.store(false);
    const kvlm::GenerateResult r = session->session.generate_ids(std::span<const std::int32_t>(prompt, n_prompt), go);
    fill_info(info, r.stop_reason, r.timings, r.generated_ids.size());
    return write_ids(r.generated_ids, ids, capacity, n_ids);
  });
}

}  // extern "C"
