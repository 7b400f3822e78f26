# Run at every build (cmake -P): writes OUT, a header defining KVLM_GIT_COMMIT
# as the source tree's commit ("abc123def456", "-dirty" with uncommitted
# changes, "unknown" outside a git checkout). file(CONFIGURE) rewrites OUT only
# when the text changes, so an unchanged commit recompiles nothing.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" diff --quiet HEAD -- RESULT_VARIABLE dirty ERROR_QUIET)
  if(dirty)
    string(APPEND commit "-dirty")
  endif()
endif()
file(CONFIGURE OUTPUT "${OUT}" CONTENT "#pragma once\n#define KVLM_GIT_COMMIT \"${commit}\"\n")
