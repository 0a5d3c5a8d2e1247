// Interaction files: any bytes, loaded against proto/user.proto as `understudy serve` loads a file.
//
// Invariant: a clean error (every problem with its file) or a set of valid interactions, never a
// crash, a hang or an exception escaping the loader.
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz/fuzz_support.h"

namespace {

const std::shared_ptr<const understudy::Schema>& GetSchema() {
  static const auto* schema = [] {
    understudy::fuzz::QuietProtobufLogs();
    return new std::shared_ptr<const understudy::Schema>(understudy::fuzz::LoadUserSchema());
  }();
  return *schema;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto set = understudy::InteractionSet::LoadSources(GetSchema(), {{"fuzz.json", text}});
  if (set.ok()) {
    for (const auto& interaction : (*set)->interactions()) {
      if (interaction->method == nullptr) understudy::fuzz::Fail("an interaction without a method");
      if ((*set)->ForMethod(interaction->method) == nullptr) {
        understudy::fuzz::Fail("an interaction missing from its method's index");
      }
    }
  } else if (set.status().message().find("fuzz.json") == std::string::npos) {
    understudy::fuzz::Fail("an error that does not name the file: " +
                           std::string(set.status().message()));
  }
  return 0;
}
