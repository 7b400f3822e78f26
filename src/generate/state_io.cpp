// State::save / State::load: the used rows of the KV cache with a small header.
//
// Layout (little-endian): "KVLMSTAT", u32 version (1), u32 num_layers,
// num_kv_heads, max_ctx, head_dim, u32 dtype (0 f32, 1 f16), u32 length, then
// for each layer, the keys [kv_heads][length][head_dim], then the values.
#include <array>
#include <cstring>
#include <fstream>
#include <string>

#include "kvlm/error.h"
#include "kvlm/state.h"

namespace kvlm {
namespace {

constexpr std::array<char, 8> kMagic = {'K', 'V', 'L', 'M', 'S', 'T', 'A', 'T'};
constexpr std::uint32_t kVersion = 1;

void put_u32(std::ostream& out, std::uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
                              static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 24)};
  out.write(reinterpret_cast<const char*>(b), 4);
}

std::uint32_t get_u32(std::istream& in) {
  unsigned char b[4];
  if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error("saved state: truncated header");
  return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
}

// Calls f(offset_in_layer, bytes) for each used row block of one layer's cache.
template <typename F>
void for_each_used_block(const StateShape& s, std::size_t elem, int length, F&& f) {
  const std::size_t row = std::size_t(s.head_dim) * elem;
  for (int h = 0; h < s.num_kv_heads; ++h) f(std::size_t(h) * std::size_t(s.max_ctx) * row, std::size_t(length) * row);
}

}  // namespace

void State::save(std::ostream& out) const {
  out.write(kMagic.data(), kMagic.size());
  put_u32(out, kVersion);
  put_u32(out, std::uint32_t(shape_.num_layers));
  put_u32(out, std::uint32_t(shape_.num_kv_heads));
  put_u32(out, std::uint32_t(shape_.max_ctx));
  put_u32(out, std::uint32_t(shape_.head_dim));
  put_u32(out, cache_dtype_ == DType::f32 ? 0u : 1u);
  put_u32(out, std::uint32_t(length_));
  const std::size_t elem = dtype_size(cache_dtype_);
  for (const bool keys_part : {true, false})
    for (int l = 0; l < shape_.num_layers; ++l) {
      const auto* base = static_cast<const char*>(keys_part ? keys(l) : values(l));
      for_each_used_block(shape_, elem, length_, [&](std::size_t off, std::size_t n) {
        out.write(base + off, std::streamsize(n));
      });
    }
  if (!out) throw Error("saved state: write failed");
}

void State::save(const std::filesystem::path& file) const {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write state file " + file.string());
  save(out);
  out.flush();
  if (!out) throw Error("cannot write state file " + file.string());
}

State State::load(std::istream& in) {
  std::array<char, 8> magic{};
  if (!in.read(magic.data(), magic.size()) || magic != kMagic) throw Error("saved state: not a kvlm state (bad magic)");
  const std::uint32_t version = get_u32(in);
  if (version != kVersion) throw Error("saved state: unsupported version " + std::to_string(version));
  StateShape shape;
  shape.num_layers = int(get_u32(in));
  shape.num_kv_heads = int(get_u32(in));
  shape.max_ctx = int(get_u32(in));
  shape.head_dim = int(get_u32(in));
  const std::uint32_t dtype = get_u32(in);
  const std::uint32_t length = get_u32(in);
  constexpr int kLimit = 1 << 20;
  for (int v : {shape.num_layers, shape.num_kv_heads, shape.max_ctx, shape.head_dim})
    if (v <= 0 || v > kLimit) throw Error("saved state: invalid shape");
  // Each dimension in range can still multiply past size_t (a damaged file):
  // the cache would wrap around to a small buffer. No real cache nears 1 TiB.
  const double cache_bytes = 2.0 * shape.num_layers * shape.num_kv_heads * double(shape.max_ctx) * shape.head_dim * 4;
  if (cache_bytes > double(std::uint64_t(1) << 40)) throw Error("saved state: invalid shape (a cache over 1 TiB)");
  if (dtype > 1) throw Error("saved state: invalid cache dtype " + std::to_string(dtype));
  if (length > std::uint32_t(shape.max_ctx))
    throw Error("saved state: length " + std::to_string(length) + " exceeds max_ctx " + std::to_string(shape.max_ctx));
  State s(shape, dtype == 0 ? DType::f32 : DType::f16);
  const std::size_t elem = dtype_size(s.cache_dtype_);
  for (const bool keys_part : {true, false})
    for (int l = 0; l < shape.num_layers; ++l) {
      auto* base = static_cast<char*>(keys_part ? s.keys(l) : s.values(l));
      for_each_used_block(shape, elem, int(length), [&](std::size_t off, std::size_t n) {
        if (!in.read(base + off, std::streamsize(n))) throw Error("saved state: truncated cache data");
      });
    }
  s.length_ = int(length);
  return s;
}

State State::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open state file " + file.string());
  try {
    return load(in);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

}  // namespace kvlm
