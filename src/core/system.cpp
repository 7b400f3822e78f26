#include "kvlm/system.h"

#include "core/bandwidth.h"
#include "core/cpu_features.h"

namespace kvlm {

std::string_view kernel_isa_name() { return isa_name(selected_isa()); }

struct BandwidthProbe::Impl {
  ReadBandwidthProbe probe;
};

BandwidthProbe::BandwidthProbe(std::size_t bytes, int threads)
    : impl_(std::make_unique<Impl>(Impl{ReadBandwidthProbe(bytes, threads)})) {}
BandwidthProbe::~BandwidthProbe() = default;
double BandwidthProbe::measure(int threads, int passes) const { return impl_->probe.measure(threads, passes); }
std::size_t BandwidthProbe::bytes() const { return impl_->probe.bytes(); }

}  // namespace kvlm
