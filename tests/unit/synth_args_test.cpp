// synth_model checks its own arguments (the CLI is not its only caller).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "kvlm/error.h"
#include "kvlm/synth.h"

namespace kvlm {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("kvlm-synth-args-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

// Throws kvlm::Error mentioning `fragment` and writes nothing.
void expect_rejected(SynthOptions o, const std::string& fragment) {
  std::string message;
  try {
    synth_model(o);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(fragment), std::string::npos) << "message: '" << message << "'";
  if (!o.out_dir.empty()) {
    EXPECT_FALSE(std::filesystem::exists(o.out_dir / "model.safetensors"));
  }
}

TEST(SynthArgs, QuantizedDtypesAreRejected) {
  for (DType d : {DType::q8, DType::q4}) {
    SynthOptions o;
    o.dtype = d;
    o.out_dir = fresh_dir("quant");
    expect_rejected(o, "dtype");
  }
}

TEST(SynthArgs, BadShapeOutputAndTokenizerAreRejected) {
  SynthOptions o;
  o.out_dir = fresh_dir("shape");
  o.shape = "gpt-5";
  expect_rejected(o, "unknown synth shape");
  o.shape = "tiny-llama";
  o.out_dir.clear();
  expect_rejected(o, "output directory");
  o.out_dir = fresh_dir("tok");
  o.tokenizer_dir = fresh_dir("no-such-tokenizer");
  expect_rejected(o, "tokenizer");
}

TEST(SynthArgs, OutputThatIsAFileIsAnError) {
  const auto file = fresh_dir("file");
  std::filesystem::create_directories(file.parent_path());
  { std::ofstream(file) << "x"; }
  SynthOptions o;
  o.out_dir = file;
  EXPECT_THROW(synth_model(o), Error);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace kvlm
