// A structure-aware mutator driven by descriptors: one random, type-correct change to a message.
//
//   MessageMutator mutator(seed);
//   mutator.Mutate(message.get());   // set, clear, add, remove, copy or change one field
//
// and, for inputs laid out as [type byte][serialized message] (the wire format and matcher
// targets), a whole libFuzzer custom mutator:
//
//   extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
//                                             unsigned seed) {
//     return MutateTypedMessage(data, size, max_size, seed, Types(), Factory());
//   }
//
// Scalars change by small deltas, to boundaries or at random; strings and bytes through
// libFuzzer's own byte mutator (a simple replacement in replay builds); enums stay valid most of
// the time. Repeated fields hold at most kMaxRepeated elements and messages nest at most kMaxDepth
// deep (below that the mutator does not create sub-messages).
#ifndef UNDERSTUDY_SRC_MUTATOR_H_
#define UNDERSTUDY_SRC_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

namespace understudy::fuzz {

inline constexpr int kMaxRepeated = 16;
inline constexpr int kMaxDepth = 8;
inline constexpr size_t kMaxStringBytes = 256;

// libFuzzer's LLVMFuzzerMutate when libFuzzer is linked in, random byte edits otherwise. Returns the new size, at most `max_size`.
size_t MutateBytes(uint8_t* data, size_t size, size_t max_size, std::minstd_rand* rng);

class MessageMutator {
 public:
  explicit MessageMutator(unsigned seed) : rng_(seed) {}
  // Applies one random mutation somewhere in `message` (its sub-messages included).
  void Mutate(google::protobuf::Message* message);

 private:
  void MutateAt(google::protobuf::Message* message, int depth);
  void MutateField(google::protobuf::Message* message, const google::protobuf::FieldDescriptor* f,
                   int depth);
  void MutateRepeated(google::protobuf::Message* message,
                      const google::protobuf::FieldDescriptor* f, int depth);
  // A new value (`fresh`) or a change of the current one, for a singular scalar field (index -1)
  // or one element of a repeated one.
  void SetElement(google::protobuf::Message* message, const google::protobuf::FieldDescriptor* f,
                  int index, bool fresh);
  // Copies another field of the same type of `message` into `f`; false when there is none.
  bool CopyField(google::protobuf::Message* message, const google::protobuf::FieldDescriptor* f);

  template <typename T>
  T Integer(T current, bool fresh);
  template <typename T>
  T Floating(T current, bool fresh);
  int EnumNumber(const google::protobuf::FieldDescriptor* f);
  std::string Text(std::string current, bool utf8);
  bool OneIn(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_) == 0; }
  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::minstd_rand rng_;
};

// A custom mutator for [type byte][serialized message] inputs: parses the message as
// types[data[0] % types.size()], mutates it (sometimes the type byte instead) and writes it back;
// falls back to MutateBytes when the message does not parse or the result exceeds `max_size`.
size_t MutateTypedMessage(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                          const std::vector<const google::protobuf::Descriptor*>& types,
                          google::protobuf::MessageFactory* factory);

// A metadata value gRPC will send: bytes outside printable ASCII are folded into it, except under
// "-bin" keys (any bytes).
std::string LegalMetadataValue(const std::string& key, const std::string& value);

// Replaces what is not UTF-8 in `text` with '?', as proto3 string fields must hold.
void MakeUtf8(std::string* text);

// Sets every proto2 required field left unset (in `message` and the messages it holds) to its
// default: protobuf aborts on printing or serializing a message without them.
void FillRequiredFields(google::protobuf::Message* message, int depth = 0);

}  // namespace understudy::fuzz

#endif  // UNDERSTUDY_SRC_MUTATOR_H_
