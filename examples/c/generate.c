/* generate MODEL PROMPT [N]: prints a greedy continuation of N tokens
 * (default 16) of PROMPT, streamed as it is generated. The kvlm C API in
 * one page: load, session, generate, errors. */
#include <stdio.h>
#include <stdlib.h>

#include <kvlm/kvlm.h>

static int print_piece(const char* piece, size_t len, void* user) {
  (void)user;
  fwrite(piece, 1, len, stdout);
  fflush(stdout);
  return 1; /* 0 would stop generation */
}

int main(int argc, char** argv) {
  kvlm_model* model = NULL;
  kvlm_session* session = NULL;
  kvlm_generate_params params = kvlm_generate_default_params();
  kvlm_status status;

  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s MODEL PROMPT [N]\n", argv[0]);
    return 2;
  }
  params.max_tokens = argc == 4 ? atoi(argv[3]) : 16;
  params.temperature = 0; /* greedy */
  params.on_text = print_piece;

  status = kvlm_model_load(argv[1], NULL, &model);
  if (status == KVLM_OK) status = kvlm_session_create(model, NULL, &session);
  /* No output buffer: the text arrives through on_text. */
  if (status == KVLM_OK) status = kvlm_generate(session, argv[2], &params, NULL, 0, NULL, NULL);
  if (status == KVLM_OK) printf("\n");
  else fprintf(stderr, "generate: %s: %s\n", kvlm_status_string(status), kvlm_last_error());

  kvlm_session_free(session);
  kvlm_model_free(model);
  return status == KVLM_OK ? 0 : 1;
}
