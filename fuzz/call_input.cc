#include "fuzz/call_input.h"

#include <algorithm>

#include <fuzzer/FuzzedDataProvider.h>


namespace understudy::fuzz {
namespace {

// FuzzedDataProvider reads integers from the end of the input, one byte for ranges below 256.
void PutInteger(int value, int max, std::vector<uint8_t>* tail) {
  if (max > 0) tail->push_back(static_cast<uint8_t>(value));
}

// ConsumeRandomLengthString's format: '\\' doubled, a string ends with '\\' and another byte
// (unless it has the maximum length).
void PutString(const std::string& value, size_t max, std::string* front) {
  std::string s = value.substr(0, max);
  for (char c : s) {
    front->push_back(c);
    if (c == '\\') front->push_back(c);
  }
  if (s.size() < max) front->append("\\;");
}

}  // namespace

const std::vector<std::string>& CallMetadataKeys() {
  static const auto* keys = new std::vector<std::string>{
      "authorization", "x-request-id", "email", "x-tenant", "x-trace-bin", "x-custom"};
  return *keys;
}

std::vector<std::string> CallMethods(const Schema& schema) {
  std::vector<std::string> methods;
  for (const auto* service : schema.services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back("/" + MethodName(service->method(i)));
    }
  }
  for (const char* extra : {"/user.UserService/", "/user.UserService/getuser",
                            "/user.UserService/GetUser/x", "/nope.Service/GetUser", "/x",
                            "/grpc.health.v1.Health/Check",
                            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    methods.push_back(extra);
  }
  return methods;
}

CallInput CallInput::Decode(const uint8_t* data, size_t size, int method_count) {
  FuzzedDataProvider in(data, size);
  CallInput call;
  call.method = in.ConsumeIntegralInRange<int>(0, method_count - 1);
  int metadata = in.ConsumeIntegralInRange<int>(0, kMaxCallMetadata);
  int keys = static_cast<int>(CallMetadataKeys().size());
  for (int i = 0; i < metadata; ++i) {
    int key = in.ConsumeIntegralInRange<int>(0, keys - 1);
    call.metadata.emplace_back(key, in.ConsumeRandomLengthString(kMaxMetadataValue));
  }
  int messages = in.ConsumeIntegralInRange<int>(0, kMaxCallMessages);
  for (int i = 0; i < messages; ++i) {
    call.messages.push_back(in.ConsumeRandomLengthString(kMaxMessageBytes));
  }
  return call;
}

std::string CallInput::Encode(int method_count) const {
  std::string front;
  std::vector<uint8_t> tail;  // in the order Decode reads it
  int keys = static_cast<int>(CallMetadataKeys().size());
  PutInteger(std::clamp(method, 0, method_count - 1), method_count - 1, &tail);
  int n = std::min<int>(static_cast<int>(metadata.size()), kMaxCallMetadata);
  PutInteger(n, kMaxCallMetadata, &tail);
  for (int i = 0; i < n; ++i) {
    PutInteger(std::clamp(metadata[i].first, 0, keys - 1), keys - 1, &tail);
    PutString(metadata[i].second, kMaxMetadataValue, &front);
  }
  n = std::min<int>(static_cast<int>(messages.size()), kMaxCallMessages);
  PutInteger(n, kMaxCallMessages, &tail);
  for (int i = 0; i < n; ++i) PutString(messages[i], kMaxMessageBytes, &front);
  front.append(tail.rbegin(), tail.rend());
  return front;
}

}  // namespace understudy::fuzz
