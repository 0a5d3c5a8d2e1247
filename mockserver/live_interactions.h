// LiveInteractions: the interactions a running mock serves, changed while it serves.
//
//   LiveInteractions live(schema, &service, paths, inline_sources, initial_set);
//   absl::Status added = live.Add(R"({"name": "x", "method": "user.UserService/GetUser", ...})");
//   live.Remove("x");
//   live.Reset();
//
// The served set is layered: the *base* (the files and inline JSON loaded by Start or the last
// Reload), minus interactions removed by name, plus interactions added since. Every change
// validates its input exactly as a file is validated (same loader, same errors with a JSON
// pointer), then compiles a whole new InteractionSet and swaps it into the MockService: a call
// sees the old set or the new one, never a mix. An invalid change returns the problems and the
// old set keeps serving.
//
// State across a change: an interaction that is kept unchanged (same file label, name and JSON)
// keeps its `served` count, so `times` keeps counting; every scenario keeps its state. Both are
// copied under the old set's commit lock, so a stateful choice is never lost between the copy
// and the swap; a call that started on the old set and chooses after the swap still counts
// against the old set. Reset starts afresh: counts at zero, every scenario "Started".
//
// Thread safety: all methods may be called from any thread; changes are serialized.
#ifndef UNDERSTUDY_MOCKSERVER_LIVE_INTERACTIONS_H_
#define UNDERSTUDY_MOCKSERVER_LIVE_INTERACTIONS_H_

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mockserver/mock_service.h"
#include "src/interaction_set.h"

namespace understudy {

class LiveInteractions {
 public:
  // `initial` is what InteractionSet::Load(schema, paths, inline_sources) returned; `service`
  // serves it already and must outlive this object.
  // A change that would serve more than `max_interactions` (0: no bound) is refused with
  // RESOURCE_EXHAUSTED.
  LiveInteractions(std::shared_ptr<const Schema> schema, MockService* service,
                   std::vector<std::string> paths,
                   std::vector<InteractionSet::Source> inline_sources,
                   const InteractionSet& initial, size_t max_interactions = 0);

  // One interaction object, or a whole file {"interactions": [...]}; labelled "<added N>" in
  // errors and in the interactions' `file`.
  absl::Status Add(absl::string_view json);
  // A file or a directory, read and checked as the files given to Start are.
  absl::Status AddFile(const std::string& path);
  // Every interaction named `name`, from the base or added; NotFound when there is none.
  absl::Status Remove(const std::string& name);
  // Back to the base as it was loaded: no added or removed interactions, fresh state.
  void Reset();
  // Re-reads the base from `paths` (the same inline JSON stays); added interactions stay.
  absl::Status Reload(const std::vector<std::string>& paths);
  // Re-reads the base from the paths last loaded.
  absl::Status Reload();

  std::string ScenarioState(const std::string& scenario) const;
  void SetScenarioState(const std::string& scenario, const std::string& state);

 private:
  // One interaction's source, enough to compile it again.
  struct Entry {
    std::string file;
    std::string pointer;
    std::string name;
    std::shared_ptr<const std::string> text;  // shared with the compiled interactions
    bool added;
  };
  static std::vector<Entry> EntriesOf(const InteractionSet& set, bool added);
  absl::Status AddEntries(std::vector<Entry> entries);
  // Compiles `entries` into a set and serves it; with `carry`, keeps counts and states.
  absl::Status Publish(std::vector<Entry> entries, bool carry);  // requires mu_

  const std::shared_ptr<const Schema> schema_;
  MockService* const service_;
  const size_t max_interactions_;

  mutable std::mutex mu_;                             // serializes changes
  std::vector<std::string> paths_;                    // guarded by mu_
  const std::vector<InteractionSet::Source> inline_;  // given to Start
  std::vector<Entry> base_;                           // guarded by mu_
  std::vector<Entry> entries_;                        // guarded by mu_; what is served
  int added_count_ = 0;                               // guarded by mu_
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_LIVE_INTERACTIONS_H_
