// InteractionSet: every interaction of a set of files, compiled and indexed per method.
//
//   auto set = InteractionSet::Load(schema, {"contracts/user_service"});
//   if (!set.ok()) { /* every problem of every file, one per line */ }
//   const MethodInteractions* m = (*set)->ForMethod(method);
//
// A set loads whole or not at all. Once loaded it is immutable (but for each interaction's
// `served` count and the scenario states), so a server may swap in a new set atomically.
#ifndef UNDERSTUDY_SRC_INTERACTION_SET_H_
#define UNDERSTUDY_SRC_INTERACTION_SET_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "src/diagnostics.h"
#include "src/interaction.h"
#include "src/schema.h"

namespace understudy {

// The interactions of one method, ranked: priority (high first), specificity (high first), load
// order. Interactions with an exact literal on a top-level scalar field are also bucketed by that
// field's value, so a call only evaluates the interactions its request could match.
struct MethodInteractions {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::vector<const Interaction*> ranked;
  struct Index {
    const google::protobuf::FieldDescriptor* field;
    std::unordered_map<std::string, std::vector<size_t>> buckets;  // value key → ranks
  };
  std::vector<Index> indexes;
  std::vector<size_t> unindexed;  // ranks, ascending

  // Ranks of the interactions `request` could match, ascending.
  void Candidates(const google::protobuf::Message* request, std::vector<size_t>* out) const;
};

// Scenario name → current state; every scenario starts in "Started".
class ScenarioStates {
 public:
  std::string Get(const std::string& scenario) const;
  void Set(const std::string& scenario, const std::string& state);
  std::map<std::string, std::string> All() const;
  void Reset();
  // Held while a stateful or counted interaction is chosen, so two calls cannot both take the
  // last use of `times` or both see the state before a transition.
  std::mutex& commit_mutex() { return commit_mu_; }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> states_;
  std::mutex commit_mu_;
};

class InteractionSet {
 public:
  struct Source {
    std::string name;  // a path or a label, used in errors
    std::string text;  // the JSON
  };

  // Files and directories (searched recursively for *.json, in path order), then `extra`
  // (e.g. inline JSON); problems of both are reported together.
  static absl::StatusOr<std::shared_ptr<InteractionSet>> Load(
      std::shared_ptr<const Schema> schema, const std::vector<std::string>& paths,
      const std::vector<Source>& extra = {});
  static absl::StatusOr<std::shared_ptr<InteractionSet>> LoadSources(
      std::shared_ptr<const Schema> schema, const std::vector<Source>& sources);
  // A set of interactions compiled elsewhere (e.g. re-compiled from the sources of a running set
  // plus ones added at run time); load order is their order here. Cannot fail: every problem was
  // reported when they compiled.
  static std::shared_ptr<InteractionSet> FromInteractions(
      std::shared_ptr<const Schema> schema, std::vector<std::unique_ptr<Interaction>> interactions);
  // The *.json files under `paths`, as Load reads them.
  static absl::StatusOr<std::vector<std::string>> ListFiles(const std::vector<std::string>& paths);
  // The text of every *.json file under `paths`, as Load reads them. A path or file that cannot
  // be read is a diagnostic; the others are still read.
  static std::vector<Source> ReadSources(const std::vector<std::string>& paths,
                                         Diagnostics* diagnostics);

  const Schema& schema() const { return *schema_; }
  std::shared_ptr<const Schema> shared_schema() const { return schema_; }
  const std::vector<std::unique_ptr<Interaction>>& interactions() const { return interactions_; }
  // Null when no interaction is for `method`.
  const MethodInteractions* ForMethod(const google::protobuf::MethodDescriptor* method) const;
  ScenarioStates& scenarios() const { return scenarios_; }

 private:
  explicit InteractionSet(std::shared_ptr<const Schema> schema) : schema_(std::move(schema)) {}
  void BuildIndex();

  std::shared_ptr<const Schema> schema_;
  std::vector<std::unique_ptr<Interaction>> interactions_;
  std::unordered_map<const google::protobuf::MethodDescriptor*, MethodInteractions> methods_;
  mutable ScenarioStates scenarios_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_INTERACTION_SET_H_
