// C API: model handles (load, introspection) and the tokenizer through them.
#include <string>
#include <vector>

#include "c_api/c_api.h"
#include "kvlm/dtype.h"
#include "kvlm/error.h"

using namespace kvlm::capi;

extern "C" {

kvlm_model_params kvlm_model_default_params(void) {
  kvlm_model_params p;
  p.dtype = nullptr;
  p.threads = 0;
  p.weight_memory = KVLM_WEIGHTS_AUTO;
  return p;
}

kvlm_status kvlm_model_load(const char* path, const kvlm_model_params* params, kvlm_model** model) {
  if (model) *model = nullptr;
  return guarded(KVLM_ERR_LOAD, [&] {
    if (!path || !model) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_model_load: path and model must not be NULL");
    const kvlm_model_params p = params ? *params : kvlm_model_default_params();
    kvlm::LoadOptions load;
    try {
      load.dtype = parse_dtype_param(p.dtype);
    } catch (const kvlm::Error& e) {
      return fail(KVLM_ERR_INVALID_ARGUMENT, e.what());
    }
    if (p.threads < 0) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_model_load: threads must be >= 0");
    load.threads = p.threads;
    switch (p.weight_memory) {
      case KVLM_WEIGHTS_AUTO: load.weight_memory = kvlm::WeightMemory::automatic; break;
      case KVLM_WEIGHTS_MAPPED: load.weight_memory = kvlm::WeightMemory::mapped; break;
      case KVLM_WEIGHTS_COPIED: load.weight_memory = kvlm::WeightMemory::copied; break;
      default: return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_model_load: unknown weight_memory value");
    }
    // Session::open decides what a model carries (tokenizer, template) in one
    // place for the CLI, the services and this API; its empty State is dropped.
    const kvlm::Session s = kvlm::Session::open(kvlm::resolve_model(path), load);
    auto handle = std::make_unique<kvlm_model>();
    handle->model = s.shared_model();
    handle->tokenizer = s.tokenizer();
    handle->chat_template = s.chat_template();
    *model = handle.release();
    return KVLM_OK;
  });
}

void kvlm_model_free(kvlm_model* model) { delete model; }

int32_t kvlm_model_vocab_size(const kvlm_model* model) { return model ? model->model->config().vocab_size : 0; }

const char* kvlm_model_dtype(const kvlm_model* model) {
  // dtype_name returns a view of a static literal, so its data is NUL-terminated.
  return model ? kvlm::dtype_name(model->model->dtype()).data() : "";
}

bool kvlm_model_has_tokenizer(const kvlm_model* model) { return model && model->tokenizer; }

bool kvlm_model_has_chat_template(const kvlm_model* model) { return model && model->chat_template; }

kvlm_status kvlm_tokenize(const kvlm_model* model, const char* text, bool add_special, bool parse_special,
                          int32_t* ids, size_t capacity, size_t* n_ids) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model || !text) return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_tokenize: model and text must not be NULL");
    if (const kvlm_status s = check_output(ids, capacity, "kvlm_tokenize: ids"); s != KVLM_OK) return s;
    if (!model->tokenizer) return fail(KVLM_ERR_UNSUPPORTED, "kvlm_tokenize: the model has no tokenizer.json");
    const std::vector<std::int32_t> out =
        model->tokenizer->encode(text, kvlm::EncodeOptions{.add_special = add_special, .parse_special = parse_special});
    return write_ids(out, ids, capacity, n_ids);
  });
}

kvlm_status kvlm_detokenize(const kvlm_model* model, const int32_t* ids, size_t n_ids, bool skip_special, char* text,
                            size_t capacity, size_t* text_len) {
  return guarded(KVLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model || (!ids && n_ids > 0))
      return fail(KVLM_ERR_INVALID_ARGUMENT, "kvlm_detokenize: model must not be NULL, nor ids when n_ids > 0");
    if (const kvlm_status s = check_output(text, capacity, "kvlm_detokenize: text"); s != KVLM_OK) return s;
    if (!model->tokenizer) return fail(KVLM_ERR_UNSUPPORTED, "kvlm_detokenize: the model has no tokenizer.json");
    const std::string out = model->tokenizer->decode(std::span<const std::int32_t>(ids, n_ids), skip_special);
    return write_text(out, text, capacity, text_len);
  });
}

}  // extern "C"
