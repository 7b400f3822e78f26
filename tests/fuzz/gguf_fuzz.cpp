// libFuzzer target: the bytes of a GGUF through the reader (GgufFile) and the
// four Hugging Face files ModelFiles builds from its metadata. A kvlm::Error
// is the expected answer to a bad file; anything else (another exception, a
// sanitizer report, a tensor outside the mapping) is a finding.
// Built by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_hf_files.h"
#include "kvlm/error.h"

namespace {

// GgufFile maps a path: each input goes to one file in memory (/dev/shm) per process, removed at exit.
struct InputFile {
  std::string path = "/dev/shm/kvlm-gguf-fuzz-" + std::to_string(::getpid()) + ".gguf";
  ~InputFile() { ::unlink(path.c_str()); }
};

const std::string& input_path() {
  static const InputFile file;
  return file.path;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "gguf_fuzz: %s\n", what);
    std::abort();
  }
}

// The reader's promises: every tensor lies inside the file, aligned, its size matching its shape.
void check_tensors(const kvlm::GgufFile& g) {
  const std::byte* begin = g.file().data();
  const std::byte* end = begin + g.file().size();
  for (const kvlm::GgufTensor& t : g.tensors()) {
    check(!t.dims.empty() && t.dims.size() <= 4, "tensor rank outside 1..4");
    check(t.elements() > 0, "empty tensor");
    check(t.data >= begin && t.data <= end && t.nbytes <= std::size_t(end - t.data), "tensor outside the file");
    check(std::size_t(t.data - begin) % g.alignment() == 0, "tensor data not aligned");
    const kvlm::GgmlTypeInfo info = kvlm::ggml_type_info(t.type);
    check(t.elements() % info.block_elems == 0 && t.nbytes == t.elements() / info.block_elems * info.block_bytes,
          "tensor size does not match its shape");
    check(g.tensor(t.name) == &t, "tensor lookup by name");
    // What GgufSource does with it: dequantize (the first blocks of a large one).
    const std::size_t n = std::size_t(std::min<std::uint64_t>(t.elements(), 4096 / info.block_elems * info.block_elems));
    std::vector<float> out(n);
    kvlm::ggml_dequantize(t.type, t.data, out.data(), n);
  }
}

template <typename Build>
void build(const kvlm::GgufFile& g, Build fn) {
  try {
    // dump() as ModelFiles does: it throws on invalid UTF-8, which the builders must have refused.
    const std::string text = fn(g).dump(2);
    check(!text.empty(), "empty JSON");
  } catch (const kvlm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(input_path().c_str(), "wb");
  check(f != nullptr, "cannot write the input file");
  check(size == 0 || std::fwrite(data, 1, size, f) == size, "cannot write the input file");
  std::fclose(f);
  try {
    const kvlm::GgufFile g(input_path());
    check_tensors(g);
    build(g, kvlm::gguf_config_json);
    build(g, kvlm::gguf_generation_config_json);
    build(g, kvlm::gguf_tokenizer_json);
    build(g, kvlm::gguf_tokenizer_config_json);
  } catch (const kvlm::Error&) {
  }
  return 0;
}
