#include "cli/call_client.h"

#include <chrono>
#include <iostream>
#include <sstream>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/json_message.h"
#include "src/response.h"
#include "verify/verify_case.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

// Waits for the completion of the operation tagged `tag`.
bool Await(grpc::CompletionQueue* cq, void* tag) {
  void* got = nullptr;
  bool ok = false;
  if (!cq->Next(&got, &ok)) return false;
  return got == tag && ok;
}

absl::StatusOr<std::vector<std::string>> EncodeRequests(const Schema& schema,
                                                        const pb::Descriptor* type,
                                                        const std::string& data) {
  std::vector<std::string> out;
  std::istringstream in(data);
  for (int index = 0;; ++index) {
    in >> std::ws;
    if (in.peek() == std::char_traits<char>::eof()) break;
    nlohmann::json value;
    try {
      in >> value;
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("request ", index, ": invalid JSON: ", e.what()));
    }
    auto message = schema.NewMessage(type);
    auto status = pb::util::JsonStringToMessage(value.dump(), message.get());
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("request ", index, ": not a valid ",
                                                     type->full_name(), ": ",
                                                     std::string(status.message())));
    }
    if (!message->IsInitialized()) {
      return absl::InvalidArgumentError(absl::StrCat("request ", index, ": ",
                                                     MissingRequiredFields(*message)));
    }
    out.push_back(message->SerializeAsString());
  }
  return out;
}

void PrintMetadata(const char* what, const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                   std::ostream& err) {
  for (const auto& [key, value] : md) {
    err << what << " " << std::string(key.data(), key.size()) << ": "
        << std::string(value.data(), value.size()) << "\n";
  }
}

}  // namespace

absl::Status CallMethod(const Schema& schema, const CallOptions& options, std::ostream& out,
                        std::ostream& err) {
  const pb::MethodDescriptor* method = schema.FindMethod(options.method);
  if (method == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no method ", options.method, " in the schema"));
  }
  auto requests = EncodeRequests(schema, method->input_type(), options.data);
  if (!requests.ok()) return requests.status();
  if (!method->client_streaming() && requests->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(MethodName(method), " takes exactly one ",
                                                   "request message, got ", requests->size()));
  }

  auto channel = MakeChannel(options.target, options.tls);
  if (!channel.ok()) return channel.status();
  grpc::GenericStub stub(*channel);
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000)));
  for (const auto& [key, value] : options.headers) context.AddMetadata(key, value);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&context, absl::StrCat("/", MethodName(method)), &cq);
  int tag = 0;
  call->StartCall(&tag);
  bool alive = Await(&cq, &tag);
  for (const auto& bytes : *requests) {
    if (!alive) break;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, &tag);
    alive = Await(&cq, &tag);
  }
  if (alive) {
    call->WritesDone(&tag);
    Await(&cq, &tag);
  }
  pb::util::JsonPrintOptions print;
  print.add_whitespace = !options.compact;
  bool headers_printed = false;
  for (;;) {
    grpc::ByteBuffer buffer;
    call->Read(&buffer, &tag);
    if (!Await(&cq, &tag)) break;
    if (options.verbose && !headers_printed) {
      PrintMetadata("header", context.GetServerInitialMetadata(), err);
      headers_printed = true;
    }
    auto message = schema.NewMessage(method->output_type());
    grpc::ProtoBufferReader reader(&buffer);
    if (!message->ParseFromZeroCopyStream(&reader)) {
      return absl::DataLossError(absl::StrCat("a response is not a valid ",
                                              method->output_type()->full_name()));
    }
    std::string text;
    pb::util::MessageToJsonString(*message, &text, print);
    out << text;
    if (options.compact || text.empty() || text.back() != '\n') out << "\n";
    out.flush();
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  Await(&cq, &tag);
  if (options.verbose) {
    if (!headers_printed) PrintMetadata("header", context.GetServerInitialMetadata(), err);
    PrintMetadata("trailer", context.GetServerTrailingMetadata(), err);
  }
  cq.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (!status.error_details().empty()) {
    result.SetPayload(kStatusDetailsPayload, absl::Cord(status.error_details()));
  }
  return result;
}

bool SplitHeader(const std::string& header, std::string* key, std::string* value) {
  size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  *key = absl::AsciiStrToLower(header.substr(0, colon));
  *value = header.substr(colon + 1);
  value->erase(0, value->find_first_not_of(' '));
  return true;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseHeaderFlags(
    const std::vector<std::string>& headers, const std::string& flag, BinaryHeaders binary) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& header : headers) {
    std::string key, value;
    if (!SplitHeader(header, &key, &value)) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " ", header, ": expected KEY: VALUE"));
    }
    if (std::string why = MetadataProblem(key, value); !why.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " ", header, ": ", why));
    }
    if (absl::EndsWith(key, "-bin")) {
      // As grpcurl: binary headers are given in base64 and sent as bytes.
      std::string raw;
      if (!DecodeBinaryMetadata(value, &raw)) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " ", header, ": a -bin header takes base64"));
      }
      if (binary == BinaryHeaders::kDecode) value = std::move(raw);
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string DetailsAsJson(const Schema& schema, const absl::Status& status) {
  auto payload = status.GetPayload(kStatusDetailsPayload);
  const pb::Descriptor* type = schema.FindMessage("google.rpc.Status");
  if (!payload.has_value() || type == nullptr) return "";
  auto message = schema.NewMessage(type);
  if (!message->ParseFromString(std::string(*payload))) return "";
  std::string text;
  pb::util::JsonPrintOptions print;
  print.add_whitespace = true;
  if (!pb::util::MessageToJsonString(*message, &text, print).ok()) return "";
  return text;
}

}  // namespace understudy
