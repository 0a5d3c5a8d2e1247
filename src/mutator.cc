#include "src/mutator.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "absl/strings/match.h"

// Defined when libFuzzer is linked in (a fuzz target); null elsewhere (`understudy fuzz`, replays).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

namespace understudy::fuzz {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using R = pb::Reflection;

// Reads, changes and writes back one scalar: a singular field (index < 0) or one element.
template <typename T, typename Change>
void Update(pb::Message* m, const FD* f, int index, T (R::*get)(const pb::Message&, const FD*) const,
            T (R::*get_repeated)(const pb::Message&, const FD*, int) const,
            void (R::*set)(pb::Message*, const FD*, T) const,
            void (R::*set_repeated)(pb::Message*, const FD*, int, T) const, Change change) {
  const R* r = m->GetReflection();
  T value = index < 0 ? (r->*get)(*m, f) : (r->*get_repeated)(*m, f, index);
  value = change(std::move(value));
  if (index < 0) {
    (r->*set)(m, f, std::move(value));
  } else {
    (r->*set_repeated)(m, f, index, std::move(value));
  }
}

uint64_t Random64(std::minstd_rand* rng) {
  return (uint64_t{(*rng)()} << 42) ^ (uint64_t{(*rng)()} << 21) ^ (*rng)();
}

// The length of the UTF-8 sequence at `s` (at most `n` bytes), 0 when it is not valid.
size_t Utf8Length(const unsigned char* s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range: no overlongs, no surrogates
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  }
  return len;
}

}  // namespace

size_t MutateBytes(uint8_t* data, size_t size, size_t max_size, std::minstd_rand* rng) {
  if (LLVMFuzzerMutate != nullptr) return LLVMFuzzerMutate(data, size, max_size);
  // Without libFuzzer: flip a bit, insert or erase a byte, write a boundary byte, or repeat a run.
  size = std::min(size, max_size);
  auto below = [rng](size_t n) { return static_cast<size_t>((*rng)() % n); };
  switch (size == 0 ? 1 : below(5)) {
    case 0:
      data[below(size)] ^= static_cast<uint8_t>(1u << below(8));
      break;
    case 1:
      if (size < max_size) {
        size_t at = below(size + 1);
        std::memmove(data + at + 1, data + at, size - at);
        data[at] = static_cast<uint8_t>((*rng)());
        ++size;
      }
      break;
    case 2: {
      size_t at = below(size);
      std::memmove(data + at, data + at + 1, size - at - 1);
      --size;
      break;
    }
    case 3: {
      static constexpr uint8_t kBytes[] = {0, 0x7F, 0x80, 0xFF, ' ', '%', '{', '"', '\\', 0xC3};
      data[below(size)] = kBytes[below(sizeof(kBytes))];
      break;
    }
    default: {  // a run of the bytes at the end repeated (long strings, big numbers)
      size_t from = below(size);
      size_t n = std::min(size - from, max_size - size);
      std::memcpy(data + size, data + from, n);
      size += n;
    }
  }
  return size;
}

std::string LegalMetadataValue(const std::string& key, const std::string& value) {
  if (key.size() > 4 && absl::EndsWith(key, "-bin")) return value;
  std::string out = value;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = static_cast<char>(0x20 + u % 95);
  }
  return out;
}

void MakeUtf8(std::string* text) {
  auto* s = reinterpret_cast<unsigned char*>(text->data());
  for (size_t i = 0; i < text->size();) {
    size_t len = Utf8Length(s + i, text->size() - i);
    if (len == 0) {
      s[i] = '?';
      len = 1;
    }
    i += len;
  }
}

void MessageMutator::Mutate(pb::Message* message) { MutateAt(message, 0); }

void MessageMutator::MutateAt(pb::Message* message, int depth) {
  const pb::Descriptor* type = message->GetDescriptor();
  if (type->field_count() == 0) return;
  const R* r = message->GetReflection();
  if (depth + 1 < kMaxDepth && OneIn(2)) {
    // Go down into a sub-message that is there: most of a message's content is below its root.
    std::vector<std::pair<const FD*, int>> present;
    for (int i = 0; i < type->field_count(); ++i) {
      const FD* f = type->field(i);
      if (f->cpp_type() != FD::CPPTYPE_MESSAGE) continue;
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(*message, f); ++k) present.emplace_back(f, k);
      } else if (r->HasField(*message, f)) {
        present.emplace_back(f, -1);
      }
    }
    if (!present.empty()) {
      auto [f, index] = present[Below(static_cast<int>(present.size()))];
      MutateAt(index < 0 ? r->MutableMessage(message, f) : r->MutableRepeatedMessage(message, f, index),
               depth + 1);
      return;
    }
  }
  MutateField(message, type->field(Below(type->field_count())), depth);
}

void MessageMutator::MutateField(pb::Message* message, const FD* f, int depth) {
  const R* r = message->GetReflection();
  if (f->is_repeated()) return MutateRepeated(message, f, depth);
  if (OneIn(8)) return r->ClearField(message, f);
  if (OneIn(10) && CopyField(message, f)) return;
  if (f->cpp_type() != FD::CPPTYPE_MESSAGE) return SetElement(message, f, -1, !r->HasField(*message, f));
  if (r->HasField(*message, f) || depth + 1 < kMaxDepth) {
    MutateAt(r->MutableMessage(message, f), depth + 1);
  }
}

void MessageMutator::MutateRepeated(pb::Message* message, const FD* f, int depth) {
  const R* r = message->GetReflection();
  int n = r->FieldSize(*message, f);
  bool is_message = f->cpp_type() == FD::CPPTYPE_MESSAGE;
  switch (n == 0 ? 0 : Below(5)) {
    case 0:  // add
      if (n >= kMaxRepeated || (is_message && depth + 1 >= kMaxDepth)) return;
      if (is_message) return MutateAt(r->AddMessage(message, f), depth + 1);
      switch (f->cpp_type()) {
        case FD::CPPTYPE_INT32: r->AddInt32(message, f, 0); break;
        case FD::CPPTYPE_INT64: r->AddInt64(message, f, 0); break;
        case FD::CPPTYPE_UINT32: r->AddUInt32(message, f, 0); break;
        case FD::CPPTYPE_UINT64: r->AddUInt64(message, f, 0); break;
        case FD::CPPTYPE_DOUBLE: r->AddDouble(message, f, 0); break;
        case FD::CPPTYPE_FLOAT: r->AddFloat(message, f, 0); break;
        case FD::CPPTYPE_BOOL: r->AddBool(message, f, false); break;
        case FD::CPPTYPE_ENUM: r->AddEnumValue(message, f, 0); break;
        default: r->AddString(message, f, ""); break;
      }
      return SetElement(message, f, n, true);
    case 1:  // remove one
      r->SwapElements(message, f, Below(n), n - 1);
      return r->RemoveLast(message, f);
    case 2:  // duplicate one (the copy is then at the end)
      if (n >= kMaxRepeated) return;
      if (is_message) {
        const pb::Message& original = r->GetRepeatedMessage(*message, f, Below(n));
        std::unique_ptr<pb::Message> copy(original.New());
        copy->CopyFrom(original);
        return r->AddAllocatedMessage(message, f, copy.release());
      }
      MutateRepeated(message, f, depth);  // a scalar: add a fresh one instead
      return;
    case 3:
      if (OneIn(4)) return r->ClearField(message, f);
      [[fallthrough]];
    default: {  // change one
      int index = Below(n);
      if (is_message) return MutateAt(r->MutableRepeatedMessage(message, f, index), depth + 1);
      return SetElement(message, f, index, OneIn(4));
    }
  }
}

void MessageMutator::SetElement(pb::Message* m, const FD* f, int index, bool fresh) {
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
      return Update<int32_t>(m, f, index, &R::GetInt32, &R::GetRepeatedInt32, &R::SetInt32,
                             &R::SetRepeatedInt32, [&](int32_t v) { return Integer(v, fresh); });
    case FD::CPPTYPE_INT64:
      return Update<int64_t>(m, f, index, &R::GetInt64, &R::GetRepeatedInt64, &R::SetInt64,
                             &R::SetRepeatedInt64, [&](int64_t v) { return Integer(v, fresh); });
    case FD::CPPTYPE_UINT32:
      return Update<uint32_t>(m, f, index, &R::GetUInt32, &R::GetRepeatedUInt32, &R::SetUInt32,
                              &R::SetRepeatedUInt32, [&](uint32_t v) { return Integer(v, fresh); });
    case FD::CPPTYPE_UINT64:
      return Update<uint64_t>(m, f, index, &R::GetUInt64, &R::GetRepeatedUInt64, &R::SetUInt64,
                              &R::SetRepeatedUInt64, [&](uint64_t v) { return Integer(v, fresh); });
    case FD::CPPTYPE_DOUBLE:
      return Update<double>(m, f, index, &R::GetDouble, &R::GetRepeatedDouble, &R::SetDouble,
                            &R::SetRepeatedDouble, [&](double v) { return Floating(v, fresh); });
    case FD::CPPTYPE_FLOAT:
      return Update<float>(m, f, index, &R::GetFloat, &R::GetRepeatedFloat, &R::SetFloat,
                           &R::SetRepeatedFloat, [&](float v) { return Floating(v, fresh); });
    case FD::CPPTYPE_BOOL:
      return Update<bool>(m, f, index, &R::GetBool, &R::GetRepeatedBool, &R::SetBool,
                          &R::SetRepeatedBool, [&](bool v) { return fresh ? OneIn(2) : !v; });
    case FD::CPPTYPE_ENUM:
      return Update<int>(m, f, index, &R::GetEnumValue, &R::GetRepeatedEnumValue,
                         &R::SetEnumValue, &R::SetRepeatedEnumValue,
                         [&](int) { return EnumNumber(f); });
    case FD::CPPTYPE_STRING: {
      bool utf8 = f->type() == FD::TYPE_STRING;
      return Update<std::string>(m, f, index, &R::GetString, &R::GetRepeatedString, &R::SetString,
                                 &R::SetRepeatedString, [&](std::string v) {
                                   return Text(fresh ? std::string() : std::move(v), utf8);
                                 });
    }
    case FD::CPPTYPE_MESSAGE:
      return;
  }
}

bool MessageMutator::CopyField(pb::Message* m, const FD* to) {
  const R* r = m->GetReflection();
  std::vector<const FD*> sources;
  const pb::Descriptor* type = m->GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FD* from = type->field(i);
    if (from == to || from->is_repeated() || from->cpp_type() != to->cpp_type() ||
        from->message_type() != to->message_type() || from->enum_type() != to->enum_type() ||
        !r->HasField(*m, from)) {
      continue;
    }
    sources.push_back(from);
  }
  if (sources.empty()) return false;
  const FD* from = sources[Below(static_cast<int>(sources.size()))];
  switch (to->cpp_type()) {
    case FD::CPPTYPE_INT32: r->SetInt32(m, to, r->GetInt32(*m, from)); break;
    case FD::CPPTYPE_INT64: r->SetInt64(m, to, r->GetInt64(*m, from)); break;
    case FD::CPPTYPE_UINT32: r->SetUInt32(m, to, r->GetUInt32(*m, from)); break;
    case FD::CPPTYPE_UINT64: r->SetUInt64(m, to, r->GetUInt64(*m, from)); break;
    case FD::CPPTYPE_DOUBLE: r->SetDouble(m, to, r->GetDouble(*m, from)); break;
    case FD::CPPTYPE_FLOAT: r->SetFloat(m, to, r->GetFloat(*m, from)); break;
    case FD::CPPTYPE_BOOL: r->SetBool(m, to, r->GetBool(*m, from)); break;
    case FD::CPPTYPE_ENUM: r->SetEnumValue(m, to, r->GetEnumValue(*m, from)); break;
    case FD::CPPTYPE_STRING: r->SetString(m, to, r->GetString(*m, from)); break;
    case FD::CPPTYPE_MESSAGE: {
      // Copied before `to` is touched: both may be members of one oneof.
      std::unique_ptr<pb::Message> copy(r->GetMessage(*m, from).New());
      copy->CopyFrom(r->GetMessage(*m, from));
      r->MutableMessage(m, to)->CopyFrom(*copy);
      break;
    }
  }
  return true;
}

template <typename T>
T MessageMutator::Integer(T current, bool fresh) {
  using U = std::make_unsigned_t<T>;
  switch (Below(fresh ? 2 : 4)) {
    case 0: {
      const T boundaries[] = {0, 1, static_cast<T>(-1), std::numeric_limits<T>::min(),
                              std::numeric_limits<T>::max(),
                              static_cast<T>(std::numeric_limits<T>::min() + 1),
                              static_cast<T>(std::numeric_limits<T>::max() - 1), 100, 128};
      return boundaries[Below(sizeof(boundaries) / sizeof(T))];
    }
    case 1:
      return static_cast<T>(Random64(&rng_));
    default:  // a small step, wrapping (in unsigned arithmetic: no overflow)
      return static_cast<T>(static_cast<U>(current) + static_cast<U>(Below(9) - 4));
  }
}

template <typename T>
T MessageMutator::Floating(T current, bool fresh) {
  using L = std::numeric_limits<T>;
  switch (Below(fresh ? 2 : 4)) {
    case 0: {
      const T specials[] = {0, -0.0, 1, -1, 0.5, L::infinity(), -L::infinity(), L::quiet_NaN(),
                            L::max(), L::lowest(), L::min(), L::denorm_min(), L::epsilon()};
      return specials[Below(sizeof(specials) / sizeof(T))];
    }
    case 1: {
      if (OneIn(2)) return static_cast<T>(static_cast<int>(Random64(&rng_) % 2001) - 1000) / 8;
      T value;
      uint64_t bits = Random64(&rng_);
      std::memcpy(&value, &bits, sizeof(value));
      return value;
    }
    case 2:
      return current * (OneIn(2) ? 2 : 0.5);
    default:
      return current + static_cast<T>(Below(9) - 4);
  }
}

int MessageMutator::EnumNumber(const FD* f) {
  const pb::EnumDescriptor* e = f->enum_type();
  if (OneIn(16) || e->value_count() == 0) {
    return OneIn(2) ? e->value_count() + Below(4) : static_cast<int>(Random64(&rng_));
  }
  return e->value(Below(e->value_count()))->number();
}

std::string MessageMutator::Text(std::string current, bool utf8) {
  if (current.size() > kMaxStringBytes) current.resize(kMaxStringBytes);
  size_t capacity = std::min(kMaxStringBytes, std::max<size_t>(current.size() * 2, current.size() + 16));
  std::minstd_rand rng(rng_());
  size_t size = current.size();
  current.resize(capacity);
  auto* bytes = reinterpret_cast<uint8_t*>(current.data());
  current.resize(MutateBytes(bytes, size, capacity, &rng));
  if (utf8 && !OneIn(32)) MakeUtf8(&current);
  return current;
}

size_t MutateTypedMessage(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                          const std::vector<const pb::Descriptor*>& types,
                          pb::MessageFactory* factory) {
  std::minstd_rand rng(seed);
  if (size < 1 || max_size < 2 || types.empty() || rng() % 4 == 0) {
    return MutateBytes(data, size, max_size, &rng);  // malformed bytes matter to parsers too
  }
  if (rng() % 32 == 0) {  // the same bytes as another type
    data[0] = static_cast<uint8_t>(rng());
    return size;
  }
  const pb::Descriptor* type = types[data[0] % types.size()];
  std::unique_ptr<pb::Message> message(factory->GetPrototype(type)->New());
  MessageMutator mutator(seed);
  for (int attempt = 0; attempt < 3; ++attempt) {
    // Partial: a mutation may clear a proto2 required field (SerializeToString would abort).
    if (!message->ParsePartialFromArray(data + 1, static_cast<int>(size - 1))) break;
    mutator.Mutate(message.get());
    std::string out;
    if (message->SerializePartialToString(&out) && out.size() + 1 <= max_size) {
      std::memcpy(data + 1, out.data(), out.size());
      return out.size() + 1;
    }
  }
  return MutateBytes(data, size, max_size, &rng);
}

void FillRequiredFields(pb::Message* message, int depth) {
  if (depth > 32) return;
  const pb::Descriptor* type = message->GetDescriptor();
  const pb::Reflection* r = message->GetReflection();
  using FD = pb::FieldDescriptor;
  for (int i = 0; i < type->field_count(); ++i) {
    const FD* f = type->field(i);
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(*message, f); ++k) {
          FillRequiredFields(r->MutableRepeatedMessage(message, f, k), depth + 1);
        }
      } else if (f->is_required() || r->HasField(*message, f)) {
        FillRequiredFields(r->MutableMessage(message, f), depth + 1);
      }
      continue;
    }
    if (!f->is_required() || r->HasField(*message, f)) continue;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_INT32: r->SetInt32(message, f, f->default_value_int32()); break;
      case FD::CPPTYPE_INT64: r->SetInt64(message, f, f->default_value_int64()); break;
      case FD::CPPTYPE_UINT32: r->SetUInt32(message, f, f->default_value_uint32()); break;
      case FD::CPPTYPE_UINT64: r->SetUInt64(message, f, f->default_value_uint64()); break;
      case FD::CPPTYPE_DOUBLE: r->SetDouble(message, f, f->default_value_double()); break;
      case FD::CPPTYPE_FLOAT: r->SetFloat(message, f, f->default_value_float()); break;
      case FD::CPPTYPE_BOOL: r->SetBool(message, f, f->default_value_bool()); break;
      case FD::CPPTYPE_ENUM: r->SetEnum(message, f, f->default_value_enum()); break;
      case FD::CPPTYPE_STRING: r->SetString(message, f, f->default_value_string()); break;
      case FD::CPPTYPE_MESSAGE: break;
    }
  }
}

}  // namespace understudy::fuzz
