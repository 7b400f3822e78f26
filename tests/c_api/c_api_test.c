/* The C API from C99 (built with -std=c99 -pedantic -Werror), driven by
 * test_c_api.py, which writes EXPECT_FILE with what the C++ side (the kvlm
 * CLI over kvlm::Session and the providers) and llama2.c's run.c produce:
 *
 *   kvlm_c_api_test EXPECT_FILE
 *
 * EXPECT_FILE holds one "key hex(value)" line per value. Exits non-zero
 * when any check fails, after running them all. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvlm/kvlm.h"

static int checks = 0;
static int failures = 0;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    ++checks;                                             \
    if (!(cond)) {                                        \
      ++failures;                                         \
      fprintf(stderr, "FAIL (line %d): ", __LINE__);      \
      fprintf(stderr, __VA_ARGS__);                       \
      fprintf(stderr, " [last error: %s]\n", kvlm_last_error()); \
    }                                                     \
  } while (0)

/* ---- expectations ------------------------------------------------------- */

#define MAX_KEYS 64
static char* keys[MAX_KEYS];
static char* values[MAX_KEYS];
static int n_keys = 0;

static int hex_digit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static void read_expectations(const char* path) {
  FILE* f = fopen(path, "r");
  static char line[1 << 16];
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  while (fgets(line, sizeof line, f) && n_keys < MAX_KEYS) {
    char* space = strchr(line, ' ');
    char* hex;
    size_t i, n;
    if (!space) continue;
    *space = '\0';
    hex = space + 1;
    n = strcspn(hex, "\r\n") / 2;
    keys[n_keys] = malloc(strlen(line) + 1);
    values[n_keys] = malloc(n + 1);
    strcpy(keys[n_keys], line);
    for (i = 0; i < n; ++i) values[n_keys][i] = (char)(hex_digit(hex[2 * i]) * 16 + hex_digit(hex[2 * i + 1]));
    values[n_keys][n] = '\0';
    ++n_keys;
  }
  fclose(f);
}

static const char* expect(const char* key) {
  int i;
  for (i = 0; i < n_keys; ++i)
    if (strcmp(keys[i], key) == 0) return values[i];
  fprintf(stderr, "expectation %s missing\n", key);
  exit(2);
}

/* Parses "1,2,3" into ids (at most cap); returns the count. */
static size_t parse_ids(const char* text, int32_t* ids, size_t cap) {
  size_t n = 0;
  char* end;
  while (*text && n < cap) {
    ids[n++] = (int32_t)strtol(text, &end, 10);
    text = *end == ',' ? end + 1 : end;
    if (end == text && *text != ',') break;
  }
  return n;
}

static int same_ids(const int32_t* a, size_t na, const int32_t* b, size_t nb) {
  return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* ---- callbacks ---------------------------------------------------------- */

typedef struct {
  char text[8192];
  size_t len;
  int pieces;
  int stop_after; /* return 0 on this piece (0: never) */
} text_sink;

static int collect_text(const char* piece, size_t len, void* user) {
  text_sink* s = (text_sink*)user;
  if (piece[len] != '\0') return 0; /* pieces must be NUL-terminated */
  if (s->len + len < sizeof s->text) {
    memcpy(s->text + s->len, piece, len);
    s->len += len;
    s->text[s->len] = '\0';
  }
  ++s->pieces;
  return s->stop_after == 0 || s->pieces < s->stop_after;
}

typedef struct {
  int tokens;
  int stop_after;
} token_counter;

static int count_tokens(int32_t id, void* user) {
  token_counter* c = (token_counter*)user;
  (void)id;
  ++c->tokens;
  return c->stop_after == 0 || c->tokens < c->stop_after;
}

/* Cancel from another thread: at the third token the generating thread
 * wakes the canceller and waits until it has called kvlm_session_cancel. */
typedef struct {
  kvlm_session* session;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int tokens;
  int started;
  int cancelled;
  kvlm_status cancel_status;
} cancel_state;

static int token_then_wait(int32_t id, void* user) {
  cancel_state* c = (cancel_state*)user;
  (void)id;
  if (++c->tokens == 3) {
    pthread_mutex_lock(&c->mutex);
    c->started = 1;
    pthread_cond_broadcast(&c->cond);
    while (!c->cancelled) pthread_cond_wait(&c->cond, &c->mutex);
    pthread_mutex_unlock(&c->mutex);
  }
  return 1;
}

static void* canceller(void* user) {
  cancel_state* c = (cancel_state*)user;
  pthread_mutex_lock(&c->mutex);
  while (!c->started) pthread_cond_wait(&c->cond, &c->mutex);
  c->cancel_status = kvlm_session_cancel(c->session);
  c->cancelled = 1;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mutex);
  return NULL;
}

/* ---- the checks --------------------------------------------------------- */

static void check_errors_without_model(void) {
  kvlm_model* model = (kvlm_model*)1;
  kvlm_model_params mp = kvlm_model_default_params();
  kvlm_status s = kvlm_model_load("/nonexistent/kvlm-model", NULL, &model);
  CHECK(s == KVLM_ERR_LOAD, "bad model path: status %d", (int)s);
  CHECK(model == NULL, "bad model path: the handle is set to NULL");
  CHECK(strstr(kvlm_last_error(), "/nonexistent/kvlm-model") != NULL, "bad model path: the error names the path");
  CHECK(kvlm_model_load(NULL, NULL, &model) == KVLM_ERR_INVALID_ARGUMENT, "load(NULL path)");
  CHECK(kvlm_last_error()[0] != '\0', "load(NULL path) sets the last error");
  CHECK(kvlm_model_load(expect("model"), NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "load(NULL out)");
  mp.dtype = "f33";
  CHECK(kvlm_model_load(expect("model"), &mp, &model) == KVLM_ERR_INVALID_ARGUMENT, "load with dtype f33");
  CHECK(strstr(kvlm_last_error(), "f33") != NULL, "a bad dtype is named");
  mp = kvlm_model_default_params();
  mp.threads = -1;
  CHECK(kvlm_model_load(expect("model"), &mp, &model) == KVLM_ERR_INVALID_ARGUMENT, "load with threads -1");

  CHECK(kvlm_session_create(NULL, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "session_create(NULL)");
  CHECK(kvlm_session_reset(NULL) == KVLM_ERR_INVALID_ARGUMENT, "session_reset(NULL)");
  CHECK(kvlm_session_cancel(NULL) == KVLM_ERR_INVALID_ARGUMENT, "session_cancel(NULL)");
  CHECK(kvlm_session_cached_tokens(NULL) == -1, "session_cached_tokens(NULL)");
  CHECK(kvlm_generate(NULL, "x", NULL, NULL, 0, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "generate(NULL session)");
  CHECK(kvlm_chat(NULL, NULL, 0, NULL, NULL, 0, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "chat(NULL)");
  CHECK(kvlm_generate_ids(NULL, NULL, 0, NULL, NULL, 0, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "generate_ids(NULL)");
  CHECK(kvlm_tokenize(NULL, "x", true, false, NULL, 0, NULL) == KVLM_ERR_INVALID_ARGUMENT, "tokenize(NULL model)");
  CHECK(kvlm_detokenize(NULL, NULL, 0, false, NULL, 0, NULL) == KVLM_ERR_INVALID_ARGUMENT, "detokenize(NULL model)");
  CHECK(kvlm_translate(NULL, "x", NULL, "French", NULL, NULL, NULL, 0, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT,
        "translate(NULL)");
  CHECK(kvlm_copyedit(NULL, "x", NULL, NULL, NULL, 0, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "copyedit(NULL)");
  CHECK(kvlm_translator_cancel(NULL) == KVLM_ERR_INVALID_ARGUMENT, "translator_cancel(NULL)");
  CHECK(kvlm_copyeditor_reset(NULL) == KVLM_ERR_INVALID_ARGUMENT, "copyeditor_reset(NULL)");
  CHECK(kvlm_translator_create(NULL, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT, "translator_create(NULL)");
  CHECK(kvlm_translator_create_with_model(NULL, NULL, NULL) == KVLM_ERR_INVALID_ARGUMENT,
        "translator_create_with_model(NULL)");
  CHECK(kvlm_model_vocab_size(NULL) == 0 && !kvlm_model_has_tokenizer(NULL) && kvlm_model_dtype(NULL)[0] == '\0',
        "introspection of NULL");
  kvlm_model_free(NULL);
  kvlm_session_free(NULL);
  kvlm_translator_free(NULL);
  kvlm_copyeditor_free(NULL);
  CHECK(strcmp(kvlm_version(), expect("version")) == 0, "kvlm_version %s", kvlm_version());
  CHECK(strcmp(kvlm_status_string(KVLM_ERR_BUFFER_TOO_SMALL), "buffer too small") == 0, "status string");
}

static void check_tokenizer(const kvlm_model* model) {
  int32_t ids[512], want[512];
  size_t n = 0, n_want = parse_ids(expect("prompt_ids"), want, 512), len = 0;
  char text[1024];
  const char* mixed = expect("mixed_text");
  kvlm_status s;

  CHECK(kvlm_tokenize(model, expect("prompt"), true, false, ids, 512, &n) == KVLM_OK, "tokenize");
  CHECK(same_ids(ids, n, want, n_want), "tokenize with the BOS gives kvlm run's prompt ids");
  CHECK(kvlm_last_error()[0] == '\0', "the last error is empty after KVLM_OK");
  CHECK(kvlm_tokenize(model, expect("prompt"), true, false, NULL, 0, &n) == KVLM_OK && n == n_want,
        "a NULL buffer with capacity 0 is a size query");
  ids[1] = -7;
  s = kvlm_tokenize(model, expect("prompt"), true, false, ids, 1, &n);
  CHECK(s == KVLM_ERR_BUFFER_TOO_SMALL && n == n_want && ids[0] == want[0] && ids[1] == -7,
        "one id of room: BUFFER_TOO_SMALL, the needed count, the first id and no more (status %d, n %zu)", (int)s, n);
  CHECK(kvlm_tokenize(model, "x", true, false, NULL, 3, &n) == KVLM_ERR_INVALID_ARGUMENT,
        "a NULL buffer with a capacity is refused");

  /* Round trip, and user text never becomes a special token unless asked. */
  CHECK(kvlm_tokenize(model, mixed, false, false, ids, 512, &n) == KVLM_OK, "tokenize mixed text");
  CHECK(kvlm_detokenize(model, ids, n, false, text, sizeof text, &len) == KVLM_OK && strcmp(text, mixed) == 0 &&
            len == strlen(mixed),
        "detokenize(tokenize(s)) == s: got '%s'", text);
  {
    size_t i;
    int special = 0;
    for (i = 0; i < n; ++i) special |= ids[i] == 128009;
    CHECK(!special, "<|eot_id|> typed as text is not the special token");
    CHECK(kvlm_tokenize(model, mixed, false, true, ids, 512, &n) == KVLM_OK, "tokenize with parse_special");
    for (i = 0; i < n; ++i) special |= ids[i] == 128009;
    CHECK(special, "parse_special matches <|eot_id|>");
  }
  CHECK(kvlm_tokenize(model, "\xff\xfe", false, false, ids, 512, &n) == KVLM_ERR_INVALID_ARGUMENT,
        "invalid UTF-8 is an invalid argument");
  CHECK(kvlm_detokenize(model, NULL, 2, false, text, sizeof text, &len) == KVLM_ERR_INVALID_ARGUMENT,
        "detokenize(NULL ids, 2)");
  ids[0] = 1 << 30;
  CHECK(kvlm_detokenize(model, ids, 1, false, text, sizeof text, &len) == KVLM_ERR_INVALID_ARGUMENT,
        "an id outside the vocabulary");
  /* A cut inside a character: "東京" is 6 bytes; 5 bytes of room hold only 東. */
  ids[0] = 0;
  CHECK(kvlm_tokenize(model, "東京", false, false, ids, 512, &n) == KVLM_OK, "tokenize 東京");
  s = kvlm_detokenize(model, ids, n, false, text, 5, &len);
  CHECK(s == KVLM_ERR_BUFFER_TOO_SMALL && len == 6 && strcmp(text, "東") == 0,
        "a too-small buffer is cut at a character boundary: status %d, len %zu, '%s'", (int)s, len, text);
}

static void check_generation(const kvlm_model* model) {
  const char* prompt = expect("prompt");
  const char* want = expect("greedy_text");
  int32_t want_ids[512], ids[512];
  size_t n_want = parse_ids(expect("greedy_ids"), want_ids, 512), n = 0, len = 0;
  int32_t prompt_ids[512];
  size_t n_prompt = parse_ids(expect("prompt_ids"), prompt_ids, 512);
  char text[8192];
  kvlm_session* session = NULL;
  kvlm_generate_params gp = kvlm_generate_default_params();
  kvlm_generation_info info;
  text_sink sink;
  token_counter counter;
  kvlm_status s;

  CHECK(kvlm_session_create(model, NULL, &session) == KVLM_OK && session != NULL, "session_create");
  if (!session) return;
  gp.max_tokens = (int32_t)n_want;
  gp.ignore_eos = true;

  /* Greedy text equals the C++ Session's (kvlm run --greedy). */
  memset(&sink, 0, sizeof sink);
  gp.on_text = collect_text;
  gp.user_data = &sink;
  s = kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info);
  CHECK(s == KVLM_OK, "generate: status %d", (int)s);
  CHECK(strcmp(text, want) == 0 && len == strlen(want), "greedy text equals kvlm run's:\n  got  '%s'\n  want '%s'", text,
        want);
  CHECK(strcmp(sink.text, want) == 0, "the streamed pieces concatenate to the text: '%s'", sink.text);
  CHECK(info.stop_reason == KVLM_STOP_LENGTH && info.generated_tokens == (int32_t)n_want &&
            info.prompt_tokens == (int32_t)n_prompt && info.cached_tokens == 0,
        "info: stop %d, generated %d, prompt %d, cached %d", (int)info.stop_reason, info.generated_tokens,
        info.prompt_tokens, info.cached_tokens);
  CHECK(kvlm_session_cached_tokens(session) == (int32_t)(n_prompt + n_want - 1),
        "the cache holds the prompt and every id fed back: %d", kvlm_session_cached_tokens(session));

  /* The same prompt again reuses the cached prompt; same text. */
  gp.on_text = NULL;
  s = kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info);
  CHECK(s == KVLM_OK && strcmp(text, want) == 0, "a second generation gives the same text");
  CHECK(info.cached_tokens == (int32_t)n_prompt - 1, "prefix reuse: %d cached of %d", info.cached_tokens,
        info.prompt_tokens);

  /* Ids in, ids out. */
  s = kvlm_generate_ids(session, prompt_ids, n_prompt, &gp, ids, 512, &n, &info);
  CHECK(s == KVLM_OK && same_ids(ids, n, want_ids, n_want), "generate_ids gives kvlm run's ids (status %d, n %zu)",
        (int)s, n);
  CHECK(kvlm_session_reset(session) == KVLM_OK && kvlm_session_cached_tokens(session) == 0, "reset empties the cache");

  /* A too-small buffer: the needed size, and a NUL-terminated prefix. */
  memset(text, 'x', sizeof text);
  s = kvlm_generate(session, prompt, &gp, text, 6, &len, &info);
  CHECK(s == KVLM_ERR_BUFFER_TOO_SMALL && len == strlen(want), "6 bytes of room: status %d, needed %zu (want %zu)",
        (int)s, len, strlen(want));
  CHECK(strlen(text) <= 5 && strncmp(text, want, strlen(text)) == 0, "the buffer holds a prefix: '%s'", text);
  CHECK(info.generated_tokens == (int32_t)n_want, "the generation itself completed");
  CHECK(kvlm_generate(session, prompt, &gp, NULL, 0, &len, NULL) == KVLM_OK && len == strlen(want),
        "no buffer: only the length");

  /* A text callback returning 0 stops generation after its third piece. */
  memset(&sink, 0, sizeof sink);
  sink.stop_after = 3;
  gp.on_text = collect_text;
  gp.user_data = &sink;
  s = kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info);
  CHECK(s == KVLM_OK && info.stop_reason == KVLM_STOP_CANCELLED, "on_text returning 0: stop reason %d",
        (int)info.stop_reason);
  CHECK(sink.pieces == 3 && info.generated_tokens < (int32_t)n_want, "no piece after the 0: %d pieces, %d tokens",
        sink.pieces, info.generated_tokens);
  CHECK(strcmp(text, sink.text) == 0 && strncmp(want, text, strlen(text)) == 0,
        "the text so far is a prefix of the full one: '%s'", text);
  gp.on_text = NULL;

  /* A token callback returning 0 after 5 ids. */
  memset(&counter, 0, sizeof counter);
  counter.stop_after = 5;
  gp.on_token = count_tokens;
  gp.user_data = &counter;
  s = kvlm_generate_ids(session, prompt_ids, n_prompt, &gp, ids, 512, &n, &info);
  CHECK(s == KVLM_OK && info.stop_reason == KVLM_STOP_CANCELLED && n == 5 && same_ids(ids, 5, want_ids, 5),
        "on_token returning 0 at 5: status %d, stop %d, %zu ids", (int)s, (int)info.stop_reason, n);
  gp.on_token = NULL;

  /* A cancel while idle does not cancel the next call. */
  CHECK(kvlm_session_cancel(session) == KVLM_OK, "cancel while idle");
  s = kvlm_generate_ids(session, prompt_ids, n_prompt, &gp, ids, 512, &n, &info);
  CHECK(s == KVLM_OK && info.stop_reason == KVLM_STOP_LENGTH && n == n_want, "the next call runs to the end");

  /* Cancel from another thread stops before the next step. */
  {
    cancel_state c;
    pthread_t thread;
    memset(&c, 0, sizeof c);
    c.session = session;
    pthread_mutex_init(&c.mutex, NULL);
    pthread_cond_init(&c.cond, NULL);
    gp.on_token = token_then_wait;
    gp.user_data = &c;
    CHECK(pthread_create(&thread, NULL, canceller, &c) == 0, "pthread_create");
    s = kvlm_generate_ids(session, prompt_ids, n_prompt, &gp, ids, 512, &n, &info);
    pthread_join(thread, NULL);
    CHECK(c.cancel_status == KVLM_OK, "kvlm_session_cancel from another thread");
    CHECK(s == KVLM_OK && info.stop_reason == KVLM_STOP_CANCELLED && n == 3,
          "cancelled from another thread after 3 ids: status %d, stop %d, %zu ids", (int)s, (int)info.stop_reason, n);
    pthread_mutex_destroy(&c.mutex);
    pthread_cond_destroy(&c.cond);
    gp.on_token = NULL;
    gp.user_data = NULL;
  }

  /* Stop strings: cut before the first occurrence, never streamed. */
  {
    const char* stops[1];
    stops[0] = expect("stop");
    gp.stop = stops;
    gp.n_stop = 1;
    memset(&sink, 0, sizeof sink);
    gp.on_text = collect_text;
    gp.user_data = &sink;
    s = kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info);
    CHECK(s == KVLM_OK && info.stop_reason == KVLM_STOP_STRING && strcmp(text, expect("stop_text")) == 0,
          "stop string '%s': status %d, stop %d, '%s'", stops[0], (int)s, (int)info.stop_reason, text);
    CHECK(strcmp(sink.text, text) == 0, "the stop string is never streamed: '%s'", sink.text);
    gp.n_stop = 1;
    gp.stop = NULL;
    CHECK(kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info) == KVLM_ERR_INVALID_ARGUMENT,
          "stop NULL with n_stop 1");
    gp.n_stop = 0;
    gp.on_text = NULL;
  }

  /* Bad parameters and inputs; the session stays usable. */
  gp.temperature = -1;
  CHECK(kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "temperature -1");
  gp.temperature = 0;
  CHECK(kvlm_generate(session, NULL, &gp, text, sizeof text, &len, &info) == KVLM_ERR_INVALID_ARGUMENT, "NULL prompt");
  CHECK(kvlm_generate(session, "\xc3", &gp, text, sizeof text, &len, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "invalid UTF-8 prompt");
  CHECK(kvlm_generate(session, prompt, &gp, NULL, 8, &len, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "NULL text with a capacity");
  CHECK(kvlm_generate_ids(session, prompt_ids, 0, &gp, ids, 512, &n, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "an empty id prompt");
  ids[0] = 1 << 30;
  CHECK(kvlm_generate_ids(session, ids, 1, &gp, ids, 512, &n, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "an id outside the vocabulary");
  s = kvlm_generate(session, prompt, &gp, text, sizeof text, &len, &info);
  CHECK(s == KVLM_OK && strcmp(text, want) == 0, "after the errors the session still gives the greedy text");
  kvlm_session_free(session);

  /* Sampling with a seed is reproducible. */
  {
    char a[8192], b[8192];
    gp.temperature = 0.8;
    gp.top_p = 0.9;
    gp.seed = 42;
    CHECK(kvlm_session_create(model, NULL, &session) == KVLM_OK, "session_create");
    CHECK(kvlm_generate(session, prompt, &gp, a, sizeof a, &len, NULL) == KVLM_OK, "sampled generation");
    CHECK(kvlm_generate(session, prompt, &gp, b, sizeof b, &len, NULL) == KVLM_OK && strcmp(a, b) == 0,
          "the same seed gives the same text");
    kvlm_session_free(session);
  }
}

static void check_chat_and_context(const kvlm_model* model) {
  kvlm_session_params sp = kvlm_session_default_params();
  kvlm_session* session = NULL;
  kvlm_generate_params gp = kvlm_generate_default_params();
  kvlm_chat_message messages[2];
  char text[8192];
  size_t len = 0;
  kvlm_generation_info info;
  kvlm_status s;

  sp.date = expect("date");
  CHECK(kvlm_session_create(model, &sp, &session) == KVLM_OK, "session_create with a date");
  if (!session) return;
  messages[0].role = "system";
  messages[0].content = expect("chat_system");
  messages[1].role = "user";
  messages[1].content = expect("chat_user");
  gp.max_tokens = 16;
  gp.ignore_eos = true;
  s = kvlm_chat(session, messages, 2, &gp, text, sizeof text, &len, &info);
  CHECK(s == KVLM_OK && strcmp(text, expect("chat_text")) == 0, "chat equals kvlm run --chat: '%s' vs '%s'", text,
        expect("chat_text"));
  messages[1].content = NULL;
  CHECK(kvlm_chat(session, messages, 2, &gp, text, sizeof text, &len, &info) == KVLM_ERR_INVALID_ARGUMENT,
        "a NULL message content");
  kvlm_session_free(session);

  /* A prompt longer than the context: an error, and the session unchanged. */
  sp = kvlm_session_default_params();
  sp.context_size = 8;
  CHECK(kvlm_session_create(model, &sp, &session) == KVLM_OK, "session_create with context 8");
  if (!session) return;
  CHECK(kvlm_generate(session, "one two", &gp, text, sizeof text, &len, &info) == KVLM_OK, "a short prompt fits");
  {
    const int32_t before = kvlm_session_cached_tokens(session);
    s = kvlm_generate(session, expect("prompt"), &gp, text, sizeof text, &len, &info);
    CHECK(s == KVLM_ERR_CONTEXT_OVERFLOW, "a long prompt in a context of 8: status %d", (int)s);
    CHECK(kvlm_session_cached_tokens(session) == before, "the session is unchanged after the overflow");
  }
  kvlm_session_free(session);
  sp.context_size = -1;
  CHECK(kvlm_session_create(model, &sp, &session) == KVLM_ERR_INVALID_ARGUMENT && session == NULL, "context -1");
}

static void check_services(const kvlm_model* model) {
  kvlm_service_params sp = kvlm_service_default_params();
  kvlm_translator* translator = NULL;
  kvlm_copyeditor* copyeditor = NULL;
  char text[8192];
  size_t len = 0;
  kvlm_generation_info info;
  text_sink sink;
  kvlm_status s;

  sp.date = expect("date");
  sp.max_tokens = 12;
  CHECK(kvlm_translator_create_with_model(model, &sp, &translator) == KVLM_OK, "translator over the loaded model");
  if (translator) {
    memset(&sink, 0, sizeof sink);
    s = kvlm_translate(translator, expect("translate_input"), NULL, "French", collect_text, &sink, text, sizeof text,
                       &len, &info);
    CHECK(s == KVLM_OK && strcmp(text, expect("translate_text")) == 0, "translate equals kvlm translate: '%s' vs '%s'",
          text, expect("translate_text"));
    CHECK(sink.pieces > 0, "translate streams its text");
    CHECK(kvlm_translate(translator, "x", NULL, "", NULL, NULL, text, sizeof text, &len, NULL) ==
              KVLM_ERR_INVALID_ARGUMENT,
          "an empty target language");
    CHECK(kvlm_translator_reset(translator) == KVLM_OK, "translator_reset");
    kvlm_translator_free(translator);
  }
  CHECK(kvlm_translator_create(expect("model"), &sp, &translator) == KVLM_OK, "translator from a path");
  if (translator) {
    s = kvlm_translate(translator, expect("translate_input"), "English", "French", NULL, NULL, text, sizeof text, &len,
                       NULL);
    CHECK(s == KVLM_OK && strcmp(text, expect("translate_from_english_text")) == 0,
          "a translator from a path, source named, equals kvlm translate --from: '%s' vs '%s'", text,
          expect("translate_from_english_text"));
    kvlm_translator_free(translator);
  }
  CHECK(kvlm_translator_create("/nonexistent/kvlm-model", &sp, &translator) == KVLM_ERR_LOAD && translator == NULL,
        "translator from a bad path");
  CHECK(kvlm_copyeditor_create_with_model(model, &sp, &copyeditor) == KVLM_OK, "copyeditor over the loaded model");
  if (copyeditor) {
    s = kvlm_copyedit(copyeditor, expect("copyedit_input"), NULL, NULL, text, sizeof text, &len, &info);
    CHECK(s == KVLM_OK && strcmp(text, expect("copyedit_text")) == 0, "copyedit equals kvlm copyedit: '%s' vs '%s'",
          text, expect("copyedit_text"));
    CHECK(kvlm_copyeditor_cancel(copyeditor) == KVLM_OK && kvlm_copyeditor_reset(copyeditor) == KVLM_OK,
          "copyeditor cancel and reset");
    kvlm_copyeditor_free(copyeditor);
  }
}

/* stories260k has no tokenizer: ids only, against llama2.c's run.c. */
static void check_ids_only_model(void) {
  kvlm_model* model = NULL;
  kvlm_model_params mp = kvlm_model_default_params();
  kvlm_session* session = NULL;
  kvlm_generate_params gp = kvlm_generate_default_params();
  int32_t prompt[64], want[256], ids[256];
  size_t n_prompt = parse_ids(expect("stories_prompt_ids"), prompt, 64), n_want = parse_ids(expect("stories_ids"), want, 256);
  size_t n = 0;
  char text[64];

  mp.dtype = "f32";
  CHECK(kvlm_model_load(expect("stories"), &mp, &model) == KVLM_OK, "load stories260k as f32");
  if (!model) return;
  CHECK(!kvlm_model_has_tokenizer(model) && strcmp(kvlm_model_dtype(model), "f32") == 0, "stories260k: no tokenizer, f32");
  CHECK(kvlm_session_create(model, NULL, &session) == KVLM_OK, "session over stories260k");
  kvlm_model_free(model); /* the session keeps the weights alive */
  if (!session) return;
  gp.max_tokens = (int32_t)n_want;
  CHECK(kvlm_generate_ids(session, prompt, n_prompt, &gp, ids, 256, &n, NULL) == KVLM_OK &&
            same_ids(ids, n, want, n_want),
        "stories260k: %zu greedy ids equal run.c's %zu", n, n_want);
  CHECK(kvlm_generate(session, "Once", &gp, text, sizeof text, &n, NULL) == KVLM_ERR_UNSUPPORTED,
        "text generation without a tokenizer");
  gp.on_text = collect_text;
  CHECK(kvlm_generate_ids(session, prompt, n_prompt, &gp, ids, 256, &n, NULL) == KVLM_ERR_UNSUPPORTED,
        "on_text without a tokenizer");
  kvlm_session_free(session);
}

int main(int argc, char** argv) {
  kvlm_model* model = NULL;
  int i;
  if (argc != 2) {
    fprintf(stderr, "usage: %s EXPECT_FILE\n", argv[0]);
    return 2;
  }
  read_expectations(argv[1]);
  check_errors_without_model();
  CHECK(kvlm_model_load(expect("model"), NULL, &model) == KVLM_OK && model != NULL, "load the synth model");
  if (model) {
    CHECK(kvlm_model_has_tokenizer(model) && kvlm_model_has_chat_template(model), "tokenizer and template found");
    CHECK(strcmp(kvlm_model_dtype(model), "f16") == 0, "a Hugging Face directory loads as f16 by default");
    CHECK(kvlm_model_vocab_size(model) == atoi(expect("vocab_size")), "vocab size %d", kvlm_model_vocab_size(model));
    check_tokenizer(model);
    check_generation(model);
    check_chat_and_context(model);
    check_services(model);
    kvlm_model_free(model);
  }
  check_ids_only_model();
  for (i = 0; i < n_keys; ++i) {
    free(keys[i]);
    free(values[i]);
  }
  if (failures) {
    fprintf(stderr, "%d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("OK: %d checks passed\n", checks);
  return 0;
}
