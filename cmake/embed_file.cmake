# Turns a data file into a C++ source defining `std::string_view NAME()`, so the
# binary carries the real Llama 3.2 configs without looking for them on disk.
# Invoked in script mode: cmake -DIN=... -DOUT=... -DNAME=... -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN}; do not edit.\n#include <string_view>\n"
  "namespace kvlm::embedded {\nstatic const unsigned char k_${NAME}[] = {${bytes} 0};\n"
  "std::string_view ${NAME}() { return {reinterpret_cast<const char*>(k_${NAME}), ${byte_count}}; }\n}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
