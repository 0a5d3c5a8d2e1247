#include "mockserver/live_interactions.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/interaction_loader.h"

namespace understudy {

LiveInteractions::LiveInteractions(std::shared_ptr<const Schema> schema, MockService* service,
                                   std::vector<std::string> paths,
                                   std::vector<InteractionSet::Source> inline_sources,
                                   const InteractionSet& initial, size_t max_interactions)
    : schema_(std::move(schema)),
      service_(service),
      max_interactions_(max_interactions),
      paths_(std::move(paths)),
      inline_(std::move(inline_sources)),
      base_(EntriesOf(initial, false)),
      entries_(base_) {}

std::vector<LiveInteractions::Entry> LiveInteractions::EntriesOf(const InteractionSet& set,
                                                                 bool added) {
  std::vector<Entry> out;
  out.reserve(set.interactions().size());
  for (const auto& i : set.interactions()) {
    out.push_back({i->file, i->pointer, i->name, i->source_text, added});
  }
  return out;
}

absl::Status LiveInteractions::Add(absl::string_view json) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string label = absl::StrCat("<added ", added_count_ + 1, ">");
  Diagnostics diagnostics;
  nlohmann::json parsed = ParseJsonText(std::string(json), label, &diagnostics);
  if (parsed.is_discarded()) return diagnostics.ToStatus();
  std::vector<std::unique_ptr<Interaction>> compiled;
  if (parsed.is_object() && parsed.contains("interactions")) {
    compiled = CompileFile(parsed, label, *schema_, &diagnostics);
  } else {
    // One interaction: its pointers are relative to the object itself ("/method").
    auto one = CompileInteraction(parsed, label, "", *schema_, &diagnostics);
    if (one != nullptr) compiled.push_back(std::move(one));
  }
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  std::vector<Entry> entries = entries_;
  for (const auto& i : compiled) {
    entries.push_back({i->file, i->pointer, i->name, i->source_text, true});
  }
  absl::Status published = Publish(std::move(entries), /*carry=*/true);
  if (published.ok()) ++added_count_;
  return published;
}

absl::Status LiveInteractions::AddFile(const std::string& path) {
  auto set = InteractionSet::Load(schema_, {path});
  if (!set.ok()) return set.status();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> entries = entries_;
  for (auto& entry : EntriesOf(**set, true)) entries.push_back(std::move(entry));
  return Publish(std::move(entries), /*carry=*/true);
}

absl::Status LiveInteractions::Remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> entries;
  entries.reserve(entries_.size());
  for (const auto& entry : entries_) {
    if (entry.name == name) continue;
    entries.push_back(entry);
  }
  if (entries.size() == entries_.size()) {
    return absl::NotFoundError(absl::StrCat("no interaction named \"", name, "\""));
  }
  return Publish(std::move(entries), /*carry=*/true);
}

void LiveInteractions::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  // The base compiled once with this schema, so it compiles again.
  Publish(base_, /*carry=*/false).IgnoreError();
}

absl::Status LiveInteractions::Reload(const std::vector<std::string>& paths) {
  auto set = InteractionSet::Load(schema_, paths, inline_);
  if (!set.ok()) return set.status();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> base = EntriesOf(**set, false);
  std::vector<Entry> entries = base;
  for (const auto& entry : entries_) {
    if (entry.added) entries.push_back(entry);
  }
  absl::Status published = Publish(std::move(entries), /*carry=*/true);
  if (!published.ok()) return published;
  paths_ = paths;
  base_ = std::move(base);
  return absl::OkStatus();
}

absl::Status LiveInteractions::Reload() {
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    paths = paths_;
  }
  return Reload(paths);
}

std::string LiveInteractions::ScenarioState(const std::string& scenario) const {
  return service_->current()->scenarios().Get(scenario);
}

void LiveInteractions::SetScenarioState(const std::string& scenario, const std::string& state) {
  // Under mu_, so a concurrent change cannot copy the states just before this and lose it;
  // under the commit lock, so no call chooses halfway through.
  std::lock_guard<std::mutex> lock(mu_);
  auto set = service_->current();
  std::lock_guard<std::mutex> commit(set->scenarios().commit_mutex());
  set->scenarios().Set(scenario, state);
}

absl::Status LiveInteractions::Publish(std::vector<Entry> entries, bool carry) {
  if (max_interactions_ > 0 && entries.size() > max_interactions_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the change would make ", entries.size(), " interactions, over the mock's "
                     "limit of ", max_interactions_, " (--max-interactions); nothing changed"));
  }
  Diagnostics diagnostics;
  std::vector<std::unique_ptr<Interaction>> compiled;
  compiled.reserve(entries.size());
  for (const auto& entry : entries) {
    auto i = CompileInteraction(entry.text, entry.file, entry.pointer, *schema_, &diagnostics);
    if (i != nullptr) compiled.push_back(std::move(i));
  }
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  std::shared_ptr<InteractionSet> set =
      InteractionSet::FromInteractions(schema_, std::move(compiled));
  if (!carry) {
    service_->Swap(std::move(set));
    entries_ = std::move(entries);
    return absl::OkStatus();
  }
  std::shared_ptr<const InteractionSet> old = service_->current();
  // Stateful choices on the old set are committed under this lock: none is lost between the
  // copy below and the swap.
  std::lock_guard<std::mutex> commit(old->scenarios().commit_mutex());
  std::map<std::pair<std::string, std::string>, const Interaction*> previous;
  for (const auto& i : old->interactions())
    previous.emplace(std::make_pair(i->file, i->name), i.get());
  for (const auto& i : set->interactions()) {
    auto it = previous.find({i->file, i->name});
    if (it != previous.end() && (it->second->source_text == i->source_text ||
                                 *it->second->source_text == *i->source_text)) {
      i->served.store(it->second->served.load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
    }
  }
  for (const auto& [scenario, state] : old->scenarios().All())
    set->scenarios().Set(scenario, state);
  service_->Swap(std::move(set));
  entries_ = std::move(entries);
  return absl::OkStatus();
}

}  // namespace understudy
