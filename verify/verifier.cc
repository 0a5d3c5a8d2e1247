#include "verify/verifier.h"

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace understudy {

absl::StatusOr<std::unique_ptr<Verifier>> Verifier::Create(std::shared_ptr<const Schema> schema,
                                                           const std::vector<std::string>& paths,
                                                           VerifyOptions options) {
  auto set = InteractionSet::Load(schema, paths);
  if (!set.ok()) return set.status();
  auto verifier = std::unique_ptr<Verifier>(new Verifier());
  verifier->set_ = *set;
  verifier->options_ = std::move(options);
  Diagnostics problems;
  std::vector<std::unique_ptr<VerifyCase>> ordered;
  for (const auto& interaction : (*set)->interactions()) {
    auto c = VerifyCase::Plan(*interaction, *schema, verifier->options_.headers, &problems);
    if (c != nullptr) ordered.push_back(std::move(c));
  }
  if (!problems.empty()) return problems.ToStatus();
  auto independent = [](const std::unique_ptr<VerifyCase>& c) {
    return c->interaction().given.empty() && c->interaction().scenario.empty();
  };
  for (auto& c : ordered) {
    if (independent(c)) verifier->cases_.push_back(std::move(c));
  }
  verifier->independent_ = verifier->cases_.size();
  for (auto& c : ordered) {
    if (c != nullptr) verifier->cases_.push_back(std::move(c));
  }
  return verifier;
}

std::string Verifier::Setup(const Interaction& interaction) const {
  if (options_.setup_command.empty()) return "";
  nlohmann::json input = {{"interaction", interaction.name},
                          {"file", interaction.file},
                          {"method", MethodName(interaction.method)},
                          {"states", interaction.given}};
  // The hook's standard output goes to stderr: stdout carries the PASS/FAIL lines.
  // On lines of its own, so a command ending in a # comment still closes the group.
  std::string command = absl::StrCat("(\n", options_.setup_command, "\n) 1>&2");
  FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) return "the setup hook could not start";
  std::string text = input.dump() + "\n";
  fwrite(text.data(), 1, text.size(), pipe);
  int status = pclose(pipe);
  if (status == -1) return "the setup hook could not run";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status)) return absl::StrCat("the setup hook exited with ", WEXITSTATUS(status));
  return "the setup hook was killed by a signal";
}

CaseResult Verifier::RunOne(const VerifyCase& c, grpc::GenericStub* stub) const {
  CaseResult result;
  result.interaction = &c.interaction();
  auto start = std::chrono::steady_clock::now();
  std::string setup_error;
  if (!c.interaction().given.empty()) setup_error = Setup(c.interaction());
  if (!setup_error.empty()) {
    result.differences.push_back({"/given", absl::StrCat(setup_error, " for the states ",
                                                         nlohmann::json(c.interaction().given).dump())});
  } else {
    result.differences = c.Run(stub, options_.timeout);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<CaseResult> Verifier::Run(const std::shared_ptr<grpc::Channel>& channel,
                                      const std::function<void(const CaseResult&)>& on_result) const {
  grpc::GenericStub stub(channel);
  std::vector<CaseResult> results(cases_.size());
  std::vector<bool> done(cases_.size(), false);
  std::mutex mu;
  size_t reported = 0;
  auto finish = [&](size_t i, CaseResult result) {
    std::lock_guard<std::mutex> lock(mu);
    results[i] = std::move(result);
    done[i] = true;
    while (reported < done.size() && done[reported]) on_result(results[reported++]);
  };
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < independent_;) finish(i, RunOne(*cases_[i], &stub));
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::max(1, options_.jobs); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = independent_; i < cases_.size(); ++i) finish(i, RunOne(*cases_[i], &stub));
  return results;
}

}  // namespace understudy
