#include "fuzz/service_input.h"

#include <algorithm>

namespace understudy::fuzz {
namespace {

constexpr char kEscape = '\\';

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), end_(data + size) {}

  // A value in [0, max].
  int Integer(int max) {
    if (max <= 0) return 0;
    unsigned value = Byte();
    if (max > 255) value = (value << 8) | Byte();
    return static_cast<int>(value % (static_cast<unsigned>(max) + 1));
  }

  std::string Text(size_t max) {
    std::string out;
    while (out.size() < max && data_ != end_) {
      char c = static_cast<char>(*data_++);
      if (c == kEscape && data_ != end_) {
        char next = static_cast<char>(*data_++);
        if (next != kEscape) break;
      } else if (c == kEscape) {
        break;
      }
      out.push_back(c);
    }
    return out;
  }

 private:
  unsigned Byte() { return data_ == end_ ? 0 : *data_++; }

  const uint8_t* data_;
  const uint8_t* const end_;
};

class Writer {
 public:
  void Integer(int value, int max) {
    if (max <= 0) return;
    auto v = static_cast<unsigned>(std::clamp(value, 0, max));
    if (max > 255) out_.push_back(static_cast<char>(v >> 8));
    out_.push_back(static_cast<char>(v & 0xff));
  }

  void Text(const std::string& value, size_t max) {
    std::string s = value.substr(0, max);
    for (char c : s) {
      out_.push_back(c);
      if (c == kEscape) out_.push_back(c);
    }
    if (s.size() < max) out_.append("\\;");
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

ServiceInput ServiceInput::Decode(const uint8_t* data, size_t size, int method_count,
                                  int key_count) {
  Reader in(data, size);
  ServiceInput input;
  int calls = in.Integer(kMaxServiceCalls - 1) + 1;
  for (int c = 0; c < calls; ++c) {
    ServiceCall call;
    call.method = in.Integer(method_count - 1);
    call.default_metadata = (in.Integer(255) & 1) == 0;
    int metadata = key_count > 0 ? in.Integer(kMaxServiceMetadata) : 0;
    for (int i = 0; i < metadata; ++i) {
      int key = in.Integer(key_count - 1);
      call.metadata.emplace_back(key, in.Text(kMaxServiceMetadataValue));
    }
    int messages = in.Integer(kMaxServiceMessages);
    for (int i = 0; i < messages; ++i) call.messages.push_back(in.Text(kMaxServiceMessageBytes));
    input.calls.push_back(std::move(call));
  }
  return input;
}

std::string ServiceInput::Encode(int method_count, int key_count) const {
  Writer out;
  std::vector<ServiceCall> written(calls.begin(),
                                   calls.begin() + std::min<size_t>(calls.size(), kMaxServiceCalls));
  if (written.empty()) written.emplace_back();
  out.Integer(static_cast<int>(written.size()) - 1, kMaxServiceCalls - 1);
  for (const ServiceCall& call : written) {
    out.Integer(call.method, method_count - 1);
    out.Integer(call.default_metadata ? 0 : 1, 255);
    if (key_count > 0) {
      int n = std::min<int>(static_cast<int>(call.metadata.size()), kMaxServiceMetadata);
      out.Integer(n, kMaxServiceMetadata);
      for (int i = 0; i < n; ++i) {
        out.Integer(call.metadata[i].first, key_count - 1);
        out.Text(call.metadata[i].second, kMaxServiceMetadataValue);
      }
    }
    int n = std::min<int>(static_cast<int>(call.messages.size()), kMaxServiceMessages);
    out.Integer(n, kMaxServiceMessages);
    for (int i = 0; i < n; ++i) out.Text(call.messages[i], kMaxServiceMessageBytes);
  }
  return out.Take();
}

}  // namespace understudy::fuzz
