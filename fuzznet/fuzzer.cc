#include "fuzznet/fuzzer.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "fuzznet/finding.h"
#include "src/interaction_set.h"
#include "src/response.h"
#include "verify/verify_case.h"

namespace understudy::fuzznet {
namespace {

namespace pb = google::protobuf;
using json = nlohmann::json;

// How long a server that answered UNAVAILABLE has to accept a connection again before the call
// counts as a crash.
constexpr std::chrono::seconds kReconnect(2);
// A generator that keeps failing (no mutant has a JSON form) gives up its worker.
constexpr int kMaxGenerationFailures = 1000;

// The client messages of an interaction, as JSON texts, in sending order.
std::vector<std::string> SeedMessages(const Interaction& interaction) {
  const json source = interaction.Source();
  const json request = source.value("request", json::object());
  std::vector<json> specs;
  switch (interaction.kind) {
    case RpcKind::kUnary:
    case RpcKind::kServerStreaming:
      specs.push_back(request.value("body", json::object()));
      break;
    case RpcKind::kClientStreaming:
      for (const auto& m : request.value("stream", json::array())) specs.push_back(m);
      break;
    case RpcKind::kBidiStreaming:
      for (const auto& step : source.value("conversation", json::array())) {
        if (step.is_object() && step.contains("client")) specs.push_back(step.at("client"));
      }
      break;
  }
  std::vector<std::string> out;
  for (const auto& spec : specs) {
    // The verifier's choice of value, more lenient: a seed need not match anything.
    auto value = ConcreteValue(spec, "", ConcreteMode::kLenient, nullptr);
    out.push_back(value.has_value() ? value->dump() : "{}");
  }
  return out;
}

std::vector<std::string> AllMethodNames(const Schema& schema) {
  std::vector<std::string> names;
  for (const auto* service : schema.services()) {
    for (int i = 0; i < service->method_count(); ++i)
      names.push_back(MethodName(service->method(i)));
  }
  return names;
}

}  // namespace

std::chrono::milliseconds LongDeadline(std::chrono::milliseconds deadline) {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(10), 10 * deadline);
}

Fuzzer::~Fuzzer() = default;

absl::StatusOr<std::unique_ptr<Fuzzer>> Fuzzer::Create(std::shared_ptr<const Schema> schema,
                                                       FuzzOptions options) {
  auto fuzzer = std::unique_ptr<Fuzzer>(new Fuzzer());
  fuzzer->schema_ = std::move(schema);
  fuzzer->options_ = std::move(options);
  const Schema& s = *fuzzer->schema_;
  auto& methods = fuzzer->methods_;
  auto add = [&methods](const pb::MethodDescriptor* m) {
    if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
  };
  for (const auto& name : fuzzer->options_.methods) {
    if (const auto* method = s.FindMethod(name)) {
      add(method);
      continue;
    }
    if (const auto* service = s.FindService(absl::StripPrefix(name, "/"))) {
      for (int i = 0; i < service->method_count(); ++i) add(service->method(i));
      continue;
    }
    std::string hint =
        Schema::Closest(std::string(absl::StripPrefix(name, "/")), AllMethodNames(s));
    return absl::InvalidArgumentError(
        absl::StrCat("--method ", name, ": no such method or service in the schema",
                     hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
  }
  if (fuzzer->options_.methods.empty()) {
    for (const auto* service : s.services()) {
      for (int i = 0; i < service->method_count(); ++i) add(service->method(i));
    }
  }
  if (methods.empty()) return absl::InvalidArgumentError("the schema has no method to fuzz");
  fuzzer->corpus_ = std::make_unique<RequestCorpus>(&s, methods);
  if (absl::Status status = fuzzer->LoadSeeds(); !status.ok()) return status;
  return fuzzer;
}

absl::Status Fuzzer::LoadSeeds() {
  if (options_.seed_paths.empty()) return absl::OkStatus();
  auto set = InteractionSet::Load(schema_, options_.seed_paths);
  if (!set.ok()) return set.status();
  for (const auto& interaction : (*set)->interactions()) {
    if (std::find(methods_.begin(), methods_.end(), interaction->method) == methods_.end())
      continue;
    if (corpus_->AddSeed(interaction->method, SeedMessages(*interaction))) {
      ++seeds_;
    } else {
      ++skipped_;
    }
  }
  return absl::OkStatus();
}

bool Fuzzer::OutOfBudget() {
  if (stop_) return true;
  if (options_.duration.count() > 0 &&
      std::chrono::steady_clock::now() - start_ >= options_.duration) {
    return true;
  }
  return false;
}

absl::StatusOr<FuzzStats> Fuzzer::Run(const std::shared_ptr<grpc::Channel>& channel,
                                      const std::function<void(const Finding&)>& on_finding) {
  start_ = std::chrono::steady_clock::now();
  grpc::GenericStub stub(channel);
  std::vector<std::thread> threads;
  for (int w = 1; w < std::max(1, options_.jobs); ++w) {
    threads.emplace_back([&, w] { Work(w, &stub, channel, on_finding); });
  }
  Work(0, &stub, channel, on_finding);
  for (auto& t : threads) t.join();

  FuzzStats stats;
  const int64_t made = calls_;  // each worker counts one call past --calls before it stops
  stats.calls = options_.max_calls > 0 ? std::min(made, options_.max_calls) : made;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  stats.corpus = corpus_->size();
  stats.generation_failures = generation_failures_;
  for (int code = 0; code < kStatusCodeCount; ++code) {
    if (codes_[code] > 0) stats.codes[StatusCodeName(code)] = codes_[code];
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats.findings = findings_.size();
  stats.crashed = crashed_;
  if (!write_error_.ok()) return write_error_;
  return stats;
}

void Fuzzer::Work(int worker, grpc::GenericStub* stub,
                  const std::shared_ptr<grpc::Channel>& channel,
                  const std::function<void(const Finding&)>& on_finding) {
  RequestGenerator generator(schema_.get(), corpus_.get(),
                             options_.seed + static_cast<unsigned>(worker) * 7919u);
  int failures = 0;
  FuzzRequest request;
  while (!OutOfBudget()) {
    const auto* method = methods_[(*generator.rng())() % methods_.size()];
    if (!generator.Next(method, &request)) {
      ++generation_failures_;
      if (++failures >= kMaxGenerationFailures) return;
      continue;
    }
    failures = 0;
    int64_t call = ++calls_;
    if (options_.max_calls > 0 && call > options_.max_calls) {
      stop_ = true;
      return;
    }
    CallOutcome outcome = PlayCall(stub, request, options_.headers, options_.deadline);
    ++codes_[std::clamp(static_cast<int>(outcome.code), 0, kStatusCodeCount - 1)];
    if (!Judge(request, outcome, call, stub, channel, generator.rng(), on_finding)) stop_ = true;
  }
}

bool Fuzzer::Judge(const FuzzRequest& request, const CallOutcome& outcome, int64_t call,
                   grpc::GenericStub* stub, const std::shared_ptr<grpc::Channel>& channel,
                   std::minstd_rand* rng, const std::function<void(const Finding&)>& on_finding) {
  const uint64_t key = OutcomeHash(request.method, outcome, *schema_);
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& seen = outcomes_[request.method];
    // Past the cap the corpus stops growing: the entries it has are mutated further.
    if (seen.size() < kMaxOutcomesPerMethod) fresh = seen.insert(key).second;
  }
  if (fresh) corpus_->Add(request, rng);

  const int code = static_cast<int>(outcome.code);
  if (outcome.code == grpc::StatusCode::UNAVAILABLE &&
      !channel->WaitForConnected(std::chrono::system_clock::now() + kReconnect)) {
    return Report(request, outcome, /*crashed=*/true, call,
                  absl::StrCat("understudy fuzz, seed ", options_.seed, ", call ", call,
                               ": the server could not be reached after this call"),
                  on_finding);
  }
  if (options_.bug_codes.count(code) == 0) return true;
  std::string description =
      absl::StrCat("understudy fuzz, seed ", options_.seed, ", call ", call, ": the status seen");
  if (outcome.code == grpc::StatusCode::DEADLINE_EXCEEDED &&
      !StillHangs(request, outcome, call, stub, &description)) {
    return true;
  }
  return Report(request, outcome, /*crashed=*/false, call, description, on_finding);
}

bool Fuzzer::StillHangs(const FuzzRequest& request, const CallOutcome& outcome, int64_t call,
                        grpc::GenericStub* stub, std::string* description) {
  // A server stream that was sending when the deadline came is long-lived, not hung.
  if (outcome.responses > 0 && request.method->server_streaming()) return false;
  {
    // Sending again takes long: not for a finding already made.
    std::lock_guard<std::mutex> lock(mu_);
    if (crashed_ || !findings_.WouldAdmit(MethodName(request.method),
                                          StatusCodeName(grpc::StatusCode::DEADLINE_EXCEEDED),
                                          MessageShape(outcome.message))) {
      return false;
    }
  }
  const std::chrono::milliseconds long_deadline = LongDeadline(options_.deadline);
  CallOutcome again = PlayCall(stub, request, options_.headers, long_deadline);
  if (again.code != grpc::StatusCode::DEADLINE_EXCEEDED) return false;  // slow, not hung
  *description = absl::StrCat(
      "understudy fuzz, seed ", options_.seed, ", call ", call, ": no answer within the ",
      options_.deadline.count(), " ms deadline, nor within ", long_deadline.count(),
      " ms when sent again; replays with `understudy verify --timeout` up to ",
      long_deadline.count() / 1000, " s");
  return true;
}

bool Fuzzer::Report(const FuzzRequest& request, const CallOutcome& outcome, bool crashed,
                    int64_t call, const std::string& description,
                    const std::function<void(const Finding&)>& on_finding) {
  Finding finding;
  finding.method = MethodName(request.method);
  finding.status = crashed ? "crash" : StatusCodeName(static_cast<int>(outcome.code));
  finding.message = outcome.message;
  finding.call = call;
  finding.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string shape = crashed ? "" : MessageShape(outcome.message);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // After a crash, the calls in flight with it fail too: they are not findings of their own.
    if (crashed_) return false;
    if (!findings_.Admit(finding.method, finding.status, shape)) return true;
    crashed_ = crashed;
  }
  // The finding is reserved: its file is written and announced without holding mu_.
  const std::string id = FindingId(absl::StrCat(finding.method, " ", finding.status, " ", shape));
  json file = FindingFile(*schema_, request, outcome, crashed, description, id, &finding.note);
  std::filesystem::path dir(options_.out_dir);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  finding.file = (dir / FindingFileName(request.method, finding.status, id)).string();
  std::ofstream out(finding.file, std::ios::trunc);
  out << file.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  out.close();
  if (!out) {
    std::lock_guard<std::mutex> lock(mu_);
    write_error_ = absl::InternalError(
        absl::StrCat("cannot write ", finding.file, error ? ": " + error.message() : ""));
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(announce_mu_);
    on_finding(finding);
  }
  return !crashed;
}

}  // namespace understudy::fuzznet
