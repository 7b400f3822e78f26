// kvlm_ggml_dequant TYPE_NAME IN.bin OUT.f32: dequantizes raw ggml blocks of
// type TYPE_NAME ("Q4_K", "F16", ...) with ggml_dequantize and writes the
// values as little-endian f32. For test_gguf_dequant.py. Errors: one line on
// stderr, exit 1.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "io/ggml_types.h"
#include "kvlm/error.h"

namespace {

kvlm::GgmlTypeInfo type_by_name(const std::string& name) {
  for (std::uint32_t id = 0; id < 64; ++id)
    if (const auto info = kvlm::ggml_type_info(id); info && name == info->name) return *info;
  throw kvlm::Error("unknown or unsupported ggml type name '" + name + "'");
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw kvlm::Error("cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw kvlm::Error("cannot read " + path);
  std::vector<std::byte> out(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = std::byte(bytes[i]);
  return out;
}

void write_f32(const std::string& path, const std::vector<float>& values) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw kvlm::Error("cannot create " + path);
  for (const float v : values) {
    const auto u = std::bit_cast<std::uint32_t>(v);
    const char le[4] = {char(u & 0xFF), char((u >> 8) & 0xFF), char((u >> 16) & 0xFF), char(u >> 24)};
    out.write(le, 4);
  }
  if (!out.flush()) throw kvlm::Error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc != 4) throw kvlm::Error("usage: kvlm_ggml_dequant TYPE_NAME IN.bin OUT.f32");
    const kvlm::GgmlTypeInfo info = type_by_name(argv[1]);
    const std::vector<std::byte> raw = read_file(argv[2]);
    if (raw.size() % info.block_bytes != 0)
      throw kvlm::Error(std::string(argv[2]) + ": " + std::to_string(raw.size()) + " bytes is not a whole number of " +
                        info.name + " blocks of " + std::to_string(info.block_bytes) + " bytes");
    const std::size_t n = raw.size() / info.block_bytes * info.block_elems;
    std::vector<float> values(n);
    kvlm::ggml_dequantize(info.type, raw.data(), values.data(), n);
    write_f32(argv[3], values);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
