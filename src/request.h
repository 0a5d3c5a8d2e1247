// Request: what matchers and templates see of a call, independent of the transport.
#ifndef UNDERSTUDY_SRC_REQUEST_H_
#define UNDERSTUDY_SRC_REQUEST_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"

namespace understudy {

// Request metadata as (lower-case key, value) views into the transport's buffers.
using MetadataView = std::vector<std::pair<absl::string_view, absl::string_view>>;

struct Request {
  const MetadataView* metadata = nullptr;
  // The single request message (unary, server streaming); in a bidi call, the latest one.
  const google::protobuf::Message* body = nullptr;
  // Every client message so far (client and bidi streaming).
  const std::vector<std::unique_ptr<google::protobuf::Message>>* stream = nullptr;

  // The first value of `key`, or null.
  const absl::string_view* Find(absl::string_view key) const {
    if (metadata == nullptr) return nullptr;
    for (const auto& kv : *metadata) {
      if (kv.first == key) return &kv.second;
    }
    return nullptr;
  }
};

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_REQUEST_H_
