// Writes the seed corpora of the fuzz targets from contracts/user_service, so the seeds are the
// messages and files the mock really serves:
//
//   make_corpus OUT_DIR     # OUT_DIR/<target>/<contract file>-<interaction name>-...
//
// wire_format, json_codec, matcher: every request and response message of every interaction
// (with the type- or method-selecting first byte; JSON for json_codec); mock_call: each
// interaction's call; user_service: each interaction's call, and the first four calls of each
// contract file in a row (service_input.h); interaction_loader: each contract file and each
// interaction on its own.
// Files of 4 KiB or more are left out. The committed fuzz/corpus is this output (a ctest checks
// that the file names still agree).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "fuzz/call_input.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/service_input.h"
#include "src/matcher.h"

namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using json = nlohmann::json;
using Messages = std::vector<std::unique_ptr<pb::Message>>;

constexpr size_t kMaxSeedBytes = 4096;

class Writer {
 public:
  explicit Writer(fs::path root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& name, const std::string& bytes) {
    std::string file = name;
    for (int n = 2; !names_.insert(target + "/" + file).second; ++n) file = name + "-" + std::to_string(n);
    if (bytes.size() >= kMaxSeedBytes) {
      std::fprintf(stderr, "left out %s/%s: %zu bytes\n", target.c_str(), file.c_str(), bytes.size());
      return;
    }
    fs::create_directories(root_ / target);
    std::ofstream(root_ / target / file, std::ios::binary) << bytes;
  }

 private:
  fs::path root_;
  std::set<std::string> names_;
};

std::string Slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a'), keep = true;
    if (keep) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 48);
}

// The message an example spec describes (matchers replaced by their $example), or null.
std::unique_ptr<pb::Message> Example(const understudy::Schema& schema, const json& spec,
                                     const pb::Descriptor* type) {
  understudy::Diagnostics ignored;
  understudy::MatcherCompiler compiler(&schema, "", &ignored);
  json example = compiler.ExampleOf(spec, "");
  auto message = schema.NewMessage(type);
  if (!example.is_object() || !pb::util::JsonStringToMessage(example.dump(), message.get()).ok()) {
    return nullptr;
  }
  return message;
}

// The request messages a call that this interaction answers sends.
Messages Requests(const understudy::Schema& schema, const understudy::Interaction& i) {
  const pb::Descriptor* type = i.method->input_type();
  std::vector<json> specs;
  const json source = i.Source();
  const json request = source.contains("request") ? source.at("request") : json::object();
  if (i.kind == understudy::RpcKind::kBidiStreaming) {
    for (const auto& step : source.value("conversation", json::array())) {
      if (step.is_object() && step.contains("client")) specs.push_back(step.at("client"));
    }
  } else if (i.kind == understudy::RpcKind::kClientStreaming) {
    for (const auto& spec : request.value("stream", json::array())) specs.push_back(spec);
  } else {
    specs.push_back(request.value("body", json::object()));
  }
  Messages out;
  for (const auto& spec : specs) {
    if (auto message = Example(schema, spec, type)) out.push_back(std::move(message));
  }
  return out;
}

// user_service_fuzzer's metadata keys: its default `authorization`, then `x-request-id`.
constexpr int kAuthorizationKey = 0;
constexpr int kRequestIdKey = 1;
constexpr int kServiceKeys = 2;

// The call of user_service_fuzzer that the interaction answers: its metadata as the contract
// gives it (an absent token leaves the default one out; a pattern keeps the fuzzer's own).
understudy::fuzz::ServiceCall ServiceCallOf(int method, const json& metadata_spec,
                                            const std::vector<std::string>& messages) {
  understudy::fuzz::ServiceCall call;
  call.method = method;
  call.messages = messages;
  for (const auto& [key, spec] : metadata_spec.items()) {
    int index = key == "authorization" ? kAuthorizationKey
                : key == "x-request-id" ? kRequestIdKey
                                        : -1;
    if (index < 0) continue;
    if (spec.is_string()) {
      call.metadata.emplace_back(index, spec.get<std::string>());
    } else if (spec.is_object() && spec.contains("$example") && spec.at("$example").is_string()) {
      call.metadata.emplace_back(index, spec.at("$example").get<std::string>());
    } else if (spec.is_object() && spec.contains("$absent") && index == kAuthorizationKey) {
      call.default_metadata = false;
    }
  }
  return call;
}

int IndexOf(const std::vector<const pb::Descriptor*>& types, const pb::Descriptor* type) {
  for (size_t k = 0; k < types.size(); ++k) {
    if (types[k]->full_name() == type->full_name()) return static_cast<int>(k);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  auto codec_schema = understudy::fuzz::LoadCodecSchema();
  auto codec_types = understudy::fuzz::CodecTypes(*codec_schema);
  auto schema = understudy::fuzz::LoadUserSchema();
  auto set = understudy::fuzz::LoadUserContracts(schema);
  auto methods = understudy::fuzz::Methods(*schema);
  auto call_methods = understudy::fuzz::CallMethods(*schema);
  const auto& keys = understudy::fuzz::CallMetadataKeys();
  Writer out(argv[1]);

  std::map<std::string, json> files;  // contract file → its interactions, for the whole files
  std::map<std::string, understudy::fuzz::ServiceInput> sequences;  // contract file → its calls
  const int method_count = static_cast<int>(methods.size());
  for (const auto& i : set->interactions()) {
    std::string stem = fs::path(i->file).stem().string();
    std::string base = stem + "-" + Slug(i->name);
    files[stem]["interactions"].push_back(i->Source());
    out.Write("interaction_loader", base, json{{"interactions", {i->Source()}}}.dump());

    Messages requests = Requests(*schema, *i);
    struct Seed {
      std::string name;
      std::string bytes;
      bool request;
    };
    std::vector<Seed> seeds;
    for (size_t k = 0; k < requests.size(); ++k) {
      seeds.push_back({"request-" + std::to_string(k), requests[k]->SerializePartialAsString(), true});
    }
    understudy::MetadataView metadata;
    understudy::Request call{&metadata, requests.empty() ? nullptr : requests[0].get(), &requests};
    for (size_t k = 0; k < i->messages.size(); ++k) {
      auto bytes = i->messages[k].message.Render(call);
      if (bytes.ok()) seeds.push_back({"response-" + std::to_string(k), *bytes, false});
    }
    int method = 0;
    while (methods[method] != i->method) ++method;
    for (const auto& [name, bytes, is_request] : seeds) {
      const pb::Descriptor* type = is_request ? i->method->input_type() : i->method->output_type();
      std::string type_byte(1, static_cast<char>(IndexOf(codec_types, type)));
      out.Write("wire_format", base + "-" + name, type_byte + bytes);
      auto message = schema->NewMessage(type);
      std::string text;
      if (message->ParseFromString(bytes) && pb::util::MessageToJsonString(*message, &text).ok()) {
        out.Write("json_codec", base + "-" + name, type_byte + text);
      }
      if (is_request) {
        out.Write("matcher", base + "-" + name, std::string(1, static_cast<char>(method)) + bytes);
      }
    }

    understudy::fuzz::CallInput input;
    input.method = method;
    const json source = i->Source();
    const json request = source.contains("request") ? source.at("request") : json::object();
    const json metadata_spec = request.value("metadata", json::object());
    for (const auto& [key, spec] : metadata_spec.items()) {
      int index = 0;
      while (index < static_cast<int>(keys.size()) && keys[index] != key) ++index;
      if (index == static_cast<int>(keys.size())) continue;
      if (spec.is_string()) {
        input.metadata.emplace_back(index, spec.get<std::string>());
      } else if (spec.is_object() && spec.contains("$example") && spec.at("$example").is_string()) {
        input.metadata.emplace_back(index, spec.at("$example").get<std::string>());
      } else if (!spec.is_object() || !spec.contains("$absent")) {
        input.metadata.emplace_back(index, key == "authorization" ? "Bearer fuzz" : "fuzz");
      }
    }
    for (const auto& seed : seeds) {
      if (seed.request) input.messages.push_back(seed.bytes);
    }
    out.Write("mock_call", base, input.Encode(static_cast<int>(call_methods.size())));

    understudy::fuzz::ServiceInput service;
    service.calls = {ServiceCallOf(method, metadata_spec, input.messages)};
    out.Write("user_service", base, service.Encode(method_count, kServiceKeys));
    auto& sequence = sequences[stem].calls;
    if (static_cast<int>(sequence.size()) < understudy::fuzz::kMaxServiceCalls) {
      sequence.push_back(service.calls[0]);
    }
  }
  // Calls that reach mock_call_fuzzer's echo interactions (its kEchoEverywhere, keyed on
  // x-custom) with values gRPC could not send as they are: a -bin value that is not text, CR/LF
  // and non-ASCII text from a body, status codes that are no code.
  auto key_index = [&](const std::string& key) {
    return static_cast<int>(std::find(keys.begin(), keys.end(), key) - keys.begin());
  };
  auto method_index = [&](const std::string& path) {
    return static_cast<int>(std::find(call_methods.begin(), call_methods.end(), path) -
                            call_methods.begin());
  };
  const std::string field1 = "\x0a";  // field 1, length-delimited
  auto string_field = [&](const std::string& text) {
    return field1 + static_cast<char>(text.size()) + text;
  };
  const std::string binary("\xff\x00\r\n\xc3", 5);
  struct Hostile {
    const char* name;
    const char* method;
    std::string custom, tenant;
    std::vector<std::string> messages;
  };
  const std::vector<Hostile> hostile = {
      {"headers", "/user.UserService/GetUser", "h", "t", {string_field("h\r\nx: \xc3\xa9\x7f")}},
      {"status", "/user.UserService/GetUser", "s", "NOT_A_CODE", {string_field("s\t1")}},
      {"status-code", "/user.UserService/GetUser", "s", "9", {string_field("s")}},
      {"stream", "/user.UserService/StreamUsers", "x\x01", "17", {""}},
      {"client-stream", "/user.UserService/CreateUserStream", "x", "-1",
       {string_field("\xc3\xa9\n"), string_field("b")}},
      {"conversation", "/user.UserService/BidirectionalStream", "x", "OK",
       {string_field("r\n"), string_field("r2")}},
  };
  for (const Hostile& h : hostile) {
    understudy::fuzz::CallInput input;
    input.method = method_index(h.method);
    input.metadata = {{key_index("x-custom"), h.custom},
                      {key_index("x-trace-bin"), binary},
                      {key_index("x-tenant"), h.tenant}};
    input.messages = h.messages;
    out.Write("mock_call", std::string("hostile-echo-") + h.name,
              input.Encode(static_cast<int>(call_methods.size())));
  }
  for (const auto& [stem, file] : files) out.Write("interaction_loader", stem, file.dump());
  for (const auto& [stem, sequence] : sequences) {
    out.Write("user_service", stem + "-sequence", sequence.Encode(method_count, kServiceKeys));
  }
  return 0;
}
