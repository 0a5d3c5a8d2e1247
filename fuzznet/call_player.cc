#include "fuzznet/call_player.h"

#include <re2/re2.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace understudy::fuzznet {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxShapeBytes = 120;

}  // namespace

CallOutcome PlayCall(grpc::GenericStub* stub, const FuzzRequest& request,
                     const MetadataPairs& headers, std::chrono::milliseconds deadline) {
  auto start = std::chrono::steady_clock::now();
  CallOutcome outcome;
  {
    std::string path =
        absl::StrCat("/", request.method->service()->full_name(), "/", request.method->name());
    GenericCall call(stub, path, headers, std::chrono::system_clock::now() + deadline);
    // Each step fails once the call is over; the status then says why.
    bool open = call.Start();
    for (size_t i = 0; open && i < request.messages.size(); ++i) {
      open = call.Write(request.messages[i]->SerializePartialAsString());
    }
    if (open) call.WritesDone();
    std::string reply;
    while (call.Read(&reply)) {
      if (outcome.responses++ == 0) outcome.first_response = reply;
    }
    grpc::Status status = call.Finish();
    outcome.code = status.error_code();
    outcome.message = status.error_message();
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

std::string MessageShape(const std::string& message) {
  // Latin-1 mode: any bytes (a message need not be UTF-8) are matched one by one.
  static const RE2::Options kOptions = [] {
    RE2::Options options(RE2::Latin1);
    options.set_log_errors(false);
    return options;
  }();
  static const RE2* const kQuoted = new RE2(R"re("[^"]*"|'[^']*'|`[^`]*`)re", kOptions);
  static const RE2* const kUuid = new RE2(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", kOptions);
  static const RE2* const kHex = new RE2("\\b(0[xX])?[0-9a-fA-F]{8,}\\b", kOptions);
  static const RE2* const kDigits = new RE2("[0-9]+", kOptions);
  std::string shape = message;
  RE2::GlobalReplace(&shape, *kQuoted, "\"*\"");
  RE2::GlobalReplace(&shape, *kUuid, "<uuid>");
  RE2::GlobalReplace(&shape, *kHex, "<hex>");
  RE2::GlobalReplace(&shape, *kDigits, "#");
  if (shape.size() > kMaxShapeBytes) shape.resize(kMaxShapeBytes);
  return shape;
}

uint64_t Fnv1a64(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

uint64_t OutcomeHash(const pb::MethodDescriptor* method, const CallOutcome& outcome,
                     const Schema& schema) {
  return Fnv1a64(OutcomeKey(method, outcome, schema));
}

std::string OutcomeKey(const pb::MethodDescriptor* method, const CallOutcome& outcome,
                       const Schema& schema) {
  std::string key = absl::StrCat(method->full_name(), " ", static_cast<int>(outcome.code), " ",
                                 MessageShape(outcome.message));
  if (outcome.responses == 0) return key;
  std::vector<int> fields;
  auto response = schema.NewMessage(method->output_type());
  if (response->ParseFromString(outcome.first_response)) {
    std::vector<const pb::FieldDescriptor*> set;
    response->GetReflection()->ListFields(*response, &set);
    for (const auto* f : set) fields.push_back(f->number());
  }
  absl::StrAppend(&key, " fields=", absl::StrJoin(fields, ","),
                  " n=", outcome.responses < 3 ? outcome.responses : 3);
  return key;
}

}  // namespace understudy::fuzznet
