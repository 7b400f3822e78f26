// Portable kernels: any CPU, no intrinsics. A "register" is 8 floats so the
// compiler can still vectorise with whatever the baseline target offers.
#include <cmath>

#define KVLM_ISA_NAMESPACE generic_isa
#include "kernels/kernels_impl.h"

namespace kvlm {
namespace generic_isa {

struct Vec8 {
  float v[8];
};

struct Generic {
  using reg = Vec8;
  static constexpr std::size_t width = 8;
  static constexpr int tile_rows = 4;
  static constexpr int decode_rows = 4;  // rows per one-token tile
  static constexpr int tile_tokens = 2;
  static reg zero() { return reg{}; }
  static reg broadcast(float a) {
    reg r;
    for (float& e : r.v) e = a;
    return r;
  }
  template <class E>
  static reg load(const E* p) {
    reg r;
    for (std::size_t i = 0; i < width; ++i) r.v[i] = to_f32(p[i]);
    return r;
  }
  static reg round_to_bf16(reg a) {
    for (float& e : a.v) e = bf16_to_f32(f32_to_bf16(e));
    return a;
  }
  static reg fmadd(const reg& a, const reg& b, reg c) {
    for (std::size_t i = 0; i < width; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  template <class Op>
  static reg lanes(const reg& a, const reg& b, Op op) {
    reg r;
    for (std::size_t i = 0; i < width; ++i) r.v[i] = op(a.v[i], b.v[i]);
    return r;
  }
  static reg add(const reg& a, const reg& b) { return lanes(a, b, [](float x, float y) { return x + y; }); }
  static reg mul(const reg& a, const reg& b) { return lanes(a, b, [](float x, float y) { return x * y; }); }
  static reg div(const reg& a, const reg& b) { return lanes(a, b, [](float x, float y) { return x / y; }); }
  static reg min(const reg& a, const reg& b) { return lanes(a, b, [](float x, float y) { return x < y ? x : y; }); }
  static reg max(const reg& a, const reg& b) { return lanes(a, b, [](float x, float y) { return x > y ? x : y; }); }
  static reg round(const reg& a) { return lanes(a, a, [](float x, float) { return std::nearbyint(x); }); }
  static reg pow2n(const reg& p, const reg& n) {  // NaN n (from a NaN x) keeps p's NaN
    return lanes(p, n, [](float x, float e) { return std::isnan(e) ? x : std::ldexp(x, int(e)); });
  }
  static float sum(const reg& a) {
    // Pairwise, the same tree shape as the SIMD horizontal sums.
    return ((a.v[0] + a.v[4]) + (a.v[2] + a.v[6])) + ((a.v[1] + a.v[5]) + (a.v[3] + a.v[7]));
  }
  static float reduce_max(const reg& a) {
    float m = a.v[0];
    for (const float e : a.v) m = e > m ? e : m;
    return m;
  }
  template <class E>
  static void store(E* p, const reg& a) {
    for (std::size_t i = 0; i < width; ++i) generic_isa::store_one(p + i, a.v[i]);
  }
};

}  // namespace generic_isa

const KernelTable& kernel_table_generic() {
  static const KernelTable table = generic_isa::make_table<generic_isa::Generic>(Isa::generic);
  return table;
}

}  // namespace kvlm
