// The input of a service fuzzer (service_fuzzer.h): a sequence of calls, each a method, its
// metadata and its request messages. Any bytes decode to an input, and Encode writes one back so
// that a corpus generator and the custom mutator produce inputs that decode the same:
//
//   ServiceInput input = ServiceInput::Decode(data, size, methods.size(), keys.size());
//   for (const ServiceCall& call : input.calls) ... call.method, call.messages ...
//   std::string bytes = input.Encode(methods.size(), keys.size());   // Decode(bytes) == input
//
// Layout, read from the front (missing bytes read as zero):
//   calls   := count-1 (one byte, 0..kMaxServiceCalls-1), then each call
//   call    := method, flags (bit 0: leave out the default metadata), metadata count,
//              (key, text)*, message count, text*
// Integers take one byte (two, big-endian, when their maximum exceeds 255) and are read modulo
// their range. A text ends at a backslash followed by any byte but another backslash; a doubled
// backslash is one backslash; a text at its maximum length ends there.
#ifndef UNDERSTUDY_FUZZ_SERVICE_INPUT_H_
#define UNDERSTUDY_FUZZ_SERVICE_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace understudy::fuzz {

inline constexpr int kMaxServiceCalls = 4;
inline constexpr int kMaxServiceMetadata = 4;
inline constexpr int kMaxServiceMessages = 4;
inline constexpr size_t kMaxServiceMetadataValue = 128;
inline constexpr size_t kMaxServiceMessageBytes = 4096;

struct ServiceCall {
  int method = 0;                   // index into the harness's methods
  bool default_metadata = true;     // send ServiceFuzzer::metadata (keys below replace its values)
  std::vector<std::pair<int, std::string>> metadata;  // index into the metadata keys, value
  std::vector<std::string> messages;                  // serialized request messages

  bool operator==(const ServiceCall& other) const {
    return method == other.method && default_metadata == other.default_metadata &&
           metadata == other.metadata && messages == other.messages;
  }
};

struct ServiceInput {
  std::vector<ServiceCall> calls;  // at least one after Decode

  // `method_count` must be positive; with `key_count` 0 no call has metadata of its own.
  static ServiceInput Decode(const uint8_t* data, size_t size, int method_count, int key_count);
  // Counts and values over the limits above are cut to them; indexes are clamped to the ranges.
  std::string Encode(int method_count, int key_count) const;
};

}  // namespace understudy::fuzz

#endif  // UNDERSTUDY_FUZZ_SERVICE_INPUT_H_
