// C API: the translation and copy-edit services over kvlm::TranslationProvider
// and kvlm::CopyEditProvider (which serialise their calls themselves).
#include <string>

#include "c_api/c_api.h"
#include "kvlm/error.h"

using namespace kvlm::capi;

namespace {

kvlm_status to_provider_options(const kvlm_service_params* params, const char* fn, kvlm::ProviderOptions& po) {
  const kvlm_service_params p = params ? *params : kvlm_service_default_params();
  const std::string where = std::string(fn) + ": ";
  try {
    po.load.dtype = parse_dtype_param(p.dtype);
  } catch (const kvlm::Error& e) {
    return fail(KVLM_ERR_INVALID_ARGUMENT, where + e.what());
  }
  if (p.threads < 0 || p.context_size < 0 || p.max_tokens < 0)
    return fail(KVLM_ERR_INVALID_ARGUMENT, where + "threads, context_size and max_tokens must be >= 0");
  po.load.threads = p.threads;
  po.max_ctx = p.context_size;
  po.max_new_tokens = p.max_tokens;
  po.prefix_reuse = p.prefix_reuse;
  if (p.date) po.date = p.date;
  return KVLM_OK;
}

template <class Handle>
kvlm_status create(const char* model, const kvlm_service_params* params, Handle** out, const char* fn) {
  if (out) *out = nullptr;
  return guarded(KVLM_ERR_LOAD, [&] {
    if (!model || !out) return fail(KVLM_ERR_INVALID_ARGUMENT, std::string(fn) + ": model and the handle must not be NULL");
    kvlm::ProviderOptions po;
    if (const kvlm_status s = to_provider_options(params, fn, po); s != KVLM_OK) return s;
    auto handle = std::make_unique<Handle>();
    handle->provider.configure(model, po);
    *out = handle.release();
    return KVLM_OK;
  });
}

template <class Handle>
kvlm_status create_with_model(const kvlm_model* model, const kvlm_service_params* params, Handle** out, const char* fn) {
  if (out) *out = nullptr;
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model || !out) return fail(KVLM_ERR_INVALID_ARGUMENT, std::string(fn) + ": model and the handle must not be NULL");
    if (!model->tokenizer || !model->chat_template)
      return fail(KVLM_ERR_UNSUPPORTED, std::string(fn) + ": the model needs a tokenizer and a chat template");
    kvlm::ProviderOptions po;
    if (const kvlm_status s = to_provider_options(params, fn, po); s != KVLM_OK) return s;
    auto handle = std::make_unique<Handle>();
    handle->provider.configure(model->model, model->tokenizer, model->chat_template, po);
    *out = handle.release();
    return KVLM_OK;
  });
}

kvlm::TextCallback to_callback(kvlm_text_callback on_text, void* user_data) {
  if (!on_text) return nullptr;
  return [on_text, user_data](std::string_view piece) {
    const std::string terminated(piece);
    return on_text(terminated.c_str(), terminated.size(), user_data) != 0;
  };
}

// Runs one request (`run` returns a ProviderResult) and writes its text.
template <class Run>
kvlm_status respond(char* out, size_t capacity, size_t* out_len, kvlm_generation_info* info, const char* fn, Run run) {
  if (const kvlm_status s = check_output(out, capacity, (std::string(fn) + ": out").c_str()); s != KVLM_OK) return s;
  const kvlm::ProviderResult r = run();
  fill_info(info, r.stop_reason, r.timings, static_cast<std::size_t>(r.generated_tokens));
  return write_text(r.text, out, capacity, out_len);
}

}  // namespace

extern "C" {

kvlm_service_params kvlm_service_default_params(void) {
  kvlm_service_params p;
  p.dtype = nullptr;
  p.threads = 0;
  p.context_size = 0;
  p.max_tokens = 256;
  p.prefix_reuse = true;
  p.date = nullptr;
  return p;
}

// --- translation ---------------------------------------------------------------

kvlm_status kvlm_translator_create(const char* model, const kvlm_service_params* params, kvlm_translator** translator) {
  return create(model, params, translator, "kvlm_translator_create");
}

kvlm_status kvlm_translator_create_with_model(const kvlm_model* model, const kvlm_service_params* params,
                                              kvlm_translator** translator) {
  return create_with_model(model, params, translator, "kvlm_translator_create_with_model");
}

void kvlm_translator_free(kvlm_translator* translator) { delete translator; }

kvlm_status kvlm_translate(kvlm_translator* translator, const char* text, const char* source, const char* target,
                           kvlm_text_callback on_text, void* user_data, char* out, size_t capacity, size_t* out_len,
                           kvlm_generation_info* info) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!translator || !text || !target)
      return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_translate: translator, text and target must not be NULL");
    return respond(out, capacity, out_len, info, "kvlm_translate", [&] {
      return translator->provider.translate_ex(text, source ? source : "", target, to_callback(on_text, user_data));
    });
  });
}

kvlm_status kvlm_translator_reset(kvlm_translator* translator) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!translator) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_translator_reset: translator is NULL");
    translator->provider.resetSession();
    return KVLM_OK;
  });
}

kvlm_status kvlm_translator_cancel(kvlm_translator* translator) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!translator) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_translator_cancel: translator is NULL");
    translator->provider.cancel();
    return KVLM_OK;
  });
}

// --- copy-edit -------------------------------------------------------------------

kvlm_status kvlm_copyeditor_create(const char* model, const kvlm_service_params* params, kvlm_copyeditor** copyeditor) {
  return create(model, params, copyeditor, "kvlm_copyeditor_create");
}

kvlm_status kvlm_copyeditor_create_with_model(const kvlm_model* model, const kvlm_service_params* params,
                                              kvlm_copyeditor** copyeditor) {
  return create_with_model(model, params, copyeditor, "kvlm_copyeditor_create_with_model");
}

void kvlm_copyeditor_free(kvlm_copyeditor* copyeditor) { delete copyeditor; }

kvlm_status kvlm_copyedit(kvlm_copyeditor* copyeditor, const char* text, kvlm_text_callback on_text, void* user_data,
                          char* out, size_t capacity, size_t* out_len, kvlm_generation_info* info) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!copyeditor || !text) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_copyedit: copyeditor and text must not be NULL");
    return respond(out, capacity, out_len, info, "kvlm_copyedit",
                   [&] { return copyeditor->provider.copyedit_ex(text, to_callback(on_text, user_data)); });
  });
}

kvlm_status kvlm_copyeditor_reset(kvlm_copyeditor* copyeditor) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!copyeditor) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_copyeditor_reset: copyeditor is NULL");
    copyeditor->provider.resetSession();
    return KVLM_OK;
  });
}

kvlm_status kvlm_copyeditor_cancel(kvlm_copyeditor* copyeditor) {
  return guarded(KVLM_ERR_INTERNAL, [&] {
    if (!copyeditor) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_copyeditor_cancel: copyeditor is NULL");
    copyeditor->provider.cancel();
    return KVLM_OK;
  });
}

}  // extern "C"
