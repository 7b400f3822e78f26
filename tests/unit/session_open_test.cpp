// Session::open decides "has a chat template" by parsing the files, not by
// searching their text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "kvlm/chat_template.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "kvlm/session.h"
#include "test_models.h"

namespace kvlm {
namespace {

namespace fs = std::filesystem;

// A copy of the tiny synth model with `tokenizer_config` as its only tokenizer file.
fs::path model_with_config(const std::string& name, const std::string& tokenizer_config) {
  const fs::path src = testing::synth_model_dir("tiny-llama", DType::f32);
  const fs::path dir = fs::path(::testing::TempDir()) / ("kvlm-open-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors"}) fs::copy_file(src / f, dir / f);
  std::ofstream(dir / "tokenizer_config.json") << tokenizer_config;
  return dir;
}

LoadOptions f32() {
  LoadOptions o;
  o.dtype = DType::f32;
  return o;
}

TEST(SessionOpen, TemplateTextInAnotherFieldIsNotATemplate) {
  const fs::path dir = model_with_config("lookalike", R"({"bos_token": "<s>", "chat_template_note": "chat_template",
      "added_tokens_decoder": {"5": {"content": "\"chat_template\""}}, "x": {"chat_template": "{{ 1 }}"}})");
  const Session s = Session::open(dir, f32());
  EXPECT_EQ(s.chat_template(), nullptr);
  EXPECT_FALSE(ChatTemplate::load_if_present(ModelFiles::open(dir)).has_value());
}

TEST(SessionOpen, NullTemplateIsNoTemplate) {
  const fs::path dir = model_with_config("null", R"({"chat_template": null})");
  EXPECT_EQ(Session::open(dir, f32()).chat_template(), nullptr);
  EXPECT_THROW(ChatTemplate::load(dir), Error);
}

TEST(SessionOpen, TemplateInConfigIsLoaded) {
  const fs::path dir = model_with_config("real", R"({"eos_token": "<E>", "chat_template": "hi{{ eos_token }}"})");
  const Session s = Session::open(dir, f32());
  ASSERT_NE(s.chat_template(), nullptr);
  EXPECT_EQ(s.chat_template()->render({}, false), "hi<E>");
}

TEST(SessionOpen, BrokenTemplateIsAnError) {
  EXPECT_THROW(Session::open(model_with_config("syntax", R"({"chat_template": "{{ x "})"), f32()), Error);
  EXPECT_THROW(Session::open(model_with_config("type", R"({"chat_template": 5})"), f32()), Error);
  EXPECT_THROW(Session::open(model_with_config("json", R"({"chat_template": )"), f32()), Error);
}

}  // namespace
}  // namespace kvlm
