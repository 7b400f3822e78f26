/* kvlm C API: load a model, generate text or ids, chat through the model's
 * template, tokenize, and run the translation and copy-edit services.
 *
 * C99; usable from C++. No C++ exception ever leaves a function of this
 * header: every failure is a kvlm_status, and kvlm_last_error() says why.
 *
 * Thread safety, in general:
 *   - functions that take no handle (*_default_params, kvlm_version,
 *     kvlm_status_string, kvlm_last_error, kvlm_model_load,
 *     kvlm_translator_create, kvlm_copyeditor_create) may run on any thread
 *     at any time;
 *   - a kvlm_model is immutable once loaded: any number of threads may use
 *     one model at once (tokenize, detokenize, create sessions and services);
 *   - a kvlm_session is one conversation: use it from one thread at a time,
 *     except kvlm_session_cancel(), which any thread may call at any time;
 *   - a kvlm_translator / kvlm_copyeditor serialises its calls internally:
 *     any thread may call it, concurrent calls wait for each other, and
 *     *_cancel() stops the call in flight from any thread;
 *   - a *_free function must not run concurrently with any other use of the
 *     same handle.
 *
 * Output buffers belong to the caller. A text output is (char* text, size_t
 * capacity, size_t* text_len): *text_len receives the full text's length in
 * bytes, without the terminating NUL, so the buffer needs *text_len + 1 bytes.
 * text == NULL with capacity == 0 asks for the length only (KVLM_OK). A
 * buffer that is too small gets KVLM_ERR_BUFFER_TOO_SMALL and holds the
 * longest prefix of whole UTF-8 characters that fits, NUL-terminated. Id
 * outputs follow the same rule with (int32_t* ids, size_t capacity, size_t*
 * n_ids), without a terminator.
 *
 * Parameter structs must start from their *_default_params() function, so
 * that fields added in later versions get their defaults. */
#ifndef KVLM_KVLM_H
#define KVLM_KVLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define KVLM_API __attribute__((visibility("default")))
#else
#define KVLM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors -------------------------------------------------- */

typedef enum kvlm_status {
  KVLM_OK = 0,
  KVLM_ERR_INVALID_ARGUMENT = 1, /* a NULL or out-of-range argument, invalid UTF-8, an id outside the vocabulary */
  KVLM_ERR_LOAD = 2,             /* a model or service could not be loaded: missing, unreadable or malformed files */
  KVLM_ERR_UNSUPPORTED = 3,      /* the model lacks what the call needs (a tokenizer, a chat template) */
  KVLM_ERR_CONTEXT_OVERFLOW = 4, /* the prompt does not fit the context; the session is unchanged */
  KVLM_ERR_BUFFER_TOO_SMALL = 5, /* see "Output buffers" above; the call itself completed */
  KVLM_ERR_OUT_OF_MEMORY = 6,
  KVLM_ERR_INTERNAL = 7
} kvlm_status;

/* "ok", "invalid argument", ... Never NULL. Thread-safe. */
KVLM_API const char* kvlm_status_string(kvlm_status status);

/* The message of the last call on this thread that returned a kvlm_status:
 * one line naming what was wrong, or "" after KVLM_OK. Valid until the next
 * kvlm call on this thread. Never NULL. Thread-safe (thread-local). */
KVLM_API const char* kvlm_last_error(void);

/* The library version, "MAJOR.MINOR.PATCH". Thread-safe. */
KVLM_API const char* kvlm_version(void);

/* ---- models ------------------------------------------------------------- */

typedef struct kvlm_model kvlm_model;

typedef enum kvlm_weight_memory {
  KVLM_WEIGHTS_AUTO = 0,   /* map or copy, whichever starts and decodes faster (kvlm::WeightMemory::automatic) */
  KVLM_WEIGHTS_MAPPED = 1, /* use the weights from the file mapping */
  KVLM_WEIGHTS_COPIED = 2  /* copy them into (huge-page) memory */
} kvlm_weight_memory;

typedef struct kvlm_model_params {
  /* "f32", "f16", "bf16", "q8" or "q4"; NULL (default): f16 for a Hugging
   * Face directory or a GGUF, the stored dtype for a .kvlm package. "f32"
   * also makes the KV cache f32 (the exactness mode). */
  const char* dtype;
  int32_t threads; /* 0 (default): one per hardware core */
  kvlm_weight_memory weight_memory;
} kvlm_model_params;

KVLM_API kvlm_model_params kvlm_model_default_params(void);

/* Loads a Hugging Face directory, a .kvlm package, a .gguf file or "kv:NAME"
 * (see kvlm::resolve_model), with its tokenizer and chat template when it
 * has them. params may be NULL (defaults). On success *model is a new
 * handle; on failure it is set to NULL. */
KVLM_API kvlm_status kvlm_model_load(const char* path, const kvlm_model_params* params, kvlm_model** model);

/* Releases the handle; sessions made from it keep the weights alive until
 * they are freed too. NULL is a no-op. */
KVLM_API void kvlm_model_free(kvlm_model* model);

/* Introspection; thread-safe. For a NULL model: 0, false, "". */
KVLM_API int32_t kvlm_model_vocab_size(const kvlm_model* model);
KVLM_API const char* kvlm_model_dtype(const kvlm_model* model); /* the dtype used for math: "f16", ... */
KVLM_API bool kvlm_model_has_tokenizer(const kvlm_model* model);
KVLM_API bool kvlm_model_has_chat_template(const kvlm_model* model);

/* Text to ids. add_special adds the BOS (the tokenizer's post-processor);
 * parse_special lets special-token spellings ("<|eot_id|>") in the text
 * become special tokens (off for text from users). Thread-safe. */
KVLM_API kvlm_status kvlm_tokenize(const kvlm_model* model, const char* text, bool add_special, bool parse_special,
                                   int32_t* ids, size_t capacity, size_t* n_ids);

/* Ids to text (invalid UTF-8 from cut byte sequences becomes U+FFFD).
 * skip_special leaves special tokens out. ids may be NULL when n_ids is 0.
 * Thread-safe. */
KVLM_API kvlm_status kvlm_detokenize(const kvlm_model* model, const int32_t* ids, size_t n_ids, bool skip_special,
                                     char* text, size_t capacity, size_t* text_len);

/* ---- sessions (one conversation: a KV cache over a shared model) -------- */

typedef struct kvlm_session kvlm_session;

typedef struct kvlm_session_params {
  int32_t context_size; /* tokens the KV cache holds; 0 (default): 512 */
  const char* date;     /* "YYYY-MM-DD": the chat template's today; NULL (default): the real date */
} kvlm_session_params;

KVLM_API kvlm_session_params kvlm_session_default_params(void);

/* Creates an empty session over `model` (which it keeps alive). params may
 * be NULL. Thread-safe for the model: sessions may be created concurrently. */
KVLM_API kvlm_status kvlm_session_create(const kvlm_model* model, const kvlm_session_params* params,
                                         kvlm_session** session);
KVLM_API void kvlm_session_free(kvlm_session* session); /* NULL is a no-op */

/* Forgets the conversation (the KV cache). One thread at a time. */
KVLM_API kvlm_status kvlm_session_reset(kvlm_session* session);

/* Stops the generation in flight on `session` before its next step; it
 * returns KVLM_OK with stop reason KVLM_STOP_CANCELLED and the text so far.
 * Any thread, any time. A cancel that arrives while no generation runs is
 * cleared when the next one starts. */
KVLM_API kvlm_status kvlm_session_cancel(kvlm_session* session);

/* Ids the session's KV cache holds (prompt and generated ids fed back); -1
 * for NULL. One thread at a time. */
KVLM_API int32_t kvlm_session_cached_tokens(const kvlm_session* session);

/* Receives each piece of generated text as it becomes complete UTF-8
 * (`piece` is NUL-terminated, `len` bytes without the NUL; stop strings are
 * never passed on). Returning 0 stops generation (KVLM_STOP_CANCELLED).
 * Runs on the generating thread. */
typedef int (*kvlm_text_callback)(const char* piece, size_t len, void* user_data);
/* Receives each generated id (not an end-of-generation id that stopped it);
 * returning 0 stops generation. Runs on the generating thread. */
typedef int (*kvlm_token_callback)(int32_t id, void* user_data);

typedef struct kvlm_generate_params {
  int32_t max_tokens;        /* new tokens at most; default 256 */
  double temperature;        /* 0 (default): greedy (argmax); > 0: sample */
  double top_p;              /* nucleus sampling; 1 (default): off */
  int32_t top_k;             /* 0 (default): off */
  double min_p;              /* 0 (default): off */
  double repetition_penalty; /* 1 (default): off */
  uint64_t seed;             /* the same seed gives the same text; default 0 */
  /* Stop strings: generation ends at the first one, which is left out of
   * the text with everything after it. NULL / 0 (default): none. */
  const char* const* stop;
  size_t n_stop;
  bool ignore_eos; /* never choose an end-of-generation token (default false) */
  kvlm_text_callback on_text;   /* NULL (default): none */
  kvlm_token_callback on_token; /* NULL (default): none */
  void* user_data;              /* passed to both callbacks */
} kvlm_generate_params;

KVLM_API kvlm_generate_params kvlm_generate_default_params(void);

typedef enum kvlm_stop_reason {
  KVLM_STOP_EOS = 0,      /* the model chose an end-of-generation token */
  KVLM_STOP_LENGTH = 1,    /* max_tokens reached */
  KVLM_STOP_STRING = 2,    /* a stop string was generated */
  KVLM_STOP_CANCELLED = 3, /* kvlm_*_cancel() or a callback returned 0 */
  KVLM_STOP_CONTEXT = 4    /* the context is full before max_tokens */
} kvlm_stop_reason;

/* What a generation did; filled on KVLM_OK and KVLM_ERR_BUFFER_TOO_SMALL. */
typedef struct kvlm_generation_info {
  kvlm_stop_reason stop_reason;
  int32_t prompt_tokens;    /* ids of the prompt */
  int32_t cached_tokens;    /* of them, reused from the session's cache (not prefilled) */
  int32_t generated_tokens; /* new ids (an end-of-generation id is not counted) */
  double prefill_ms;
  double decode_ms_per_token;
} kvlm_generation_info;

/* The generation calls: one thread at a time per session. Each keeps the
 * longest common prefix of its prompt with what the session's cache holds
 * and prefills only the rest, so a conversation's next turn (the whole
 * conversation again) costs only its new tokens. params and info may be
 * NULL (defaults / not wanted). */

/* Plain text: `prompt` is tokenized with the BOS, no template. */
KVLM_API kvlm_status kvlm_generate(kvlm_session* session, const char* prompt, const kvlm_generate_params* params,
                                   char* text, size_t capacity, size_t* text_len, kvlm_generation_info* info);

typedef struct kvlm_chat_message {
  const char* role; /* "system", "user", "assistant" */
  const char* content;
} kvlm_chat_message;

/* Chat: `messages` rendered with the model's chat template and a generation
 * prompt; message text never becomes special tokens. */
KVLM_API kvlm_status kvlm_chat(kvlm_session* session, const kvlm_chat_message* messages, size_t n_messages,
                               const kvlm_generate_params* params, char* text, size_t capacity, size_t* text_len,
                               kvlm_generation_info* info);

/* Ids in, ids out: `prompt` is the whole prompt (add the BOS yourself).
 * Works without a tokenizer (then stop strings and on_text are refused). */
KVLM_API kvlm_status kvlm_generate_ids(kvlm_session* session, const int32_t* prompt, size_t n_prompt,
                                       const kvlm_generate_params* params, int32_t* ids, size_t capacity,
                                       size_t* n_ids, kvlm_generation_info* info);

/* ---- services: translation and transcript copy-edit ---------------------
 * Greedy; each prefills its fixed system prompt once and starts every
 * request from that state. Calls are serialised internally (any thread);
 * *_cancel() stops the request in flight from any thread, which then
 * returns what it had (KVLM_OK, KVLM_STOP_CANCELLED). */

typedef struct kvlm_translator kvlm_translator;
typedef struct kvlm_copyeditor kvlm_copyeditor;

typedef struct kvlm_service_params {
  const char* dtype;    /* as kvlm_model_params.dtype; ignored by *_create_with_model */
  int32_t threads;      /* as kvlm_model_params.threads; ignored by *_create_with_model */
  int32_t context_size; /* 0 (default): 512 */
  int32_t max_tokens;   /* per request; default 256 */
  bool prefix_reuse;    /* default true; false: every request prefills its whole prompt */
  const char* date;     /* "YYYY-MM-DD" for the template; NULL (default): the real date */
} kvlm_service_params;

KVLM_API kvlm_service_params kvlm_service_default_params(void);

/* `model` is a path or "kv:NAME"; it needs a tokenizer and a chat template.
 * params may be NULL. */
KVLM_API kvlm_status kvlm_translator_create(const char* model, const kvlm_service_params* params,
                                            kvlm_translator** translator);
/* Shares an already loaded model (weights are not loaded again). */
KVLM_API kvlm_status kvlm_translator_create_with_model(const kvlm_model* model, const kvlm_service_params* params,
                                                       kvlm_translator** translator);
KVLM_API void kvlm_translator_free(kvlm_translator* translator); /* NULL is a no-op */

/* Translates `text` into `target` ("French", "German", ...). `source` names
 * the source language and may be NULL (the prompt does not name it). The
 * text is trimmed of surrounding white space; on_text (may be NULL) streams
 * it untrimmed as it is generated. info may be NULL. */
KVLM_API kvlm_status kvlm_translate(kvlm_translator* translator, const char* text, const char* source,
                                    const char* target, kvlm_text_callback on_text, void* user_data, char* out,
                                    size_t capacity, size_t* out_len, kvlm_generation_info* info);
KVLM_API kvlm_status kvlm_translator_reset(kvlm_translator* translator);
KVLM_API kvlm_status kvlm_translator_cancel(kvlm_translator* translator);

KVLM_API kvlm_status kvlm_copyeditor_create(const char* model, const kvlm_service_params* params,
                                            kvlm_copyeditor** copyeditor);
KVLM_API kvlm_status kvlm_copyeditor_create_with_model(const kvlm_model* model, const kvlm_service_params* params,
                                                       kvlm_copyeditor** copyeditor);
KVLM_API void kvlm_copyeditor_free(kvlm_copyeditor* copyeditor); /* NULL is a no-op */

/* Copy-edits a speech transcript (capitalization, punctuation, misheard
 * homophones, repeated words; the speaker's words kept); otherwise as
 * kvlm_translate. */
KVLM_API kvlm_status kvlm_copyedit(kvlm_copyeditor* copyeditor, const char* text, kvlm_text_callback on_text,
                                   void* user_data, char* out, size_t capacity, size_t* out_len,
                                   kvlm_generation_info* info);
KVLM_API kvlm_status kvlm_copyeditor_reset(kvlm_copyeditor* copyeditor);
KVLM_API kvlm_status kvlm_copyeditor_cancel(kvlm_copyeditor* copyeditor);

#ifdef __cplusplus
}
#endif

#endif /* KVLM_KVLM_H */
