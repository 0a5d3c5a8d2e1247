// The mock_call target's input: a method, some metadata and the request messages of one call,
// read with FuzzedDataProvider (so any bytes are an input) and written back by Encode (so the
// corpus generator and the custom mutator produce inputs that read back the same).
//
//   CallInput call = CallInput::Decode(data, size, methods.size());
//   ... call.method, call.metadata, call.messages ...
//   std::string bytes = call.Encode(methods.size());   // Decode(bytes) == call
#ifndef UNDERSTUDY_FUZZ_CALL_INPUT_H_
#define UNDERSTUDY_FUZZ_CALL_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/mutator.h"  // LegalMetadataValue
#include "src/schema.h"

namespace understudy::fuzz {

inline constexpr int kMaxCallMetadata = 4;
inline constexpr int kMaxCallMessages = 4;
inline constexpr size_t kMaxMetadataValue = 64;
inline constexpr size_t kMaxMessageBytes = 4096;

// The metadata keys a call may carry (gRPC refuses illegal keys on the client side, so they are
// not the mock's concern); keys ending in -bin carry any bytes.
const std::vector<std::string>& CallMetadataKeys();


// "/pkg.Service/Method" of every method of `schema`, then paths the mock must refuse or that its
// reflection and health services answer.
std::vector<std::string> CallMethods(const Schema& schema);

struct CallInput {
  int method = 0;                                     // index into CallMethods()
  std::vector<std::pair<int, std::string>> metadata;  // index into CallMetadataKeys(), value
  std::vector<std::string> messages;                  // serialized request messages

  static CallInput Decode(const uint8_t* data, size_t size, int method_count);
  // Values over the limits above are cut to them.
  std::string Encode(int method_count) const;
};

}  // namespace understudy::fuzz

#endif  // UNDERSTUDY_FUZZ_CALL_INPUT_H_
