#include "src/interaction_set.h"

#include <malloc.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/interaction_loader.h"

namespace understudy {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

std::string ScenarioStates::Get(const std::string& scenario) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(scenario);
  return it == states_.end() ? "Started" : it->second;
}

void ScenarioStates::Set(const std::string& scenario, const std::string& state) {
  std::lock_guard<std::mutex> lock(mu_);
  states_[scenario] = state;
}

std::map<std::string, std::string> ScenarioStates::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

void ScenarioStates::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  states_.clear();
}

void MethodInteractions::Candidates(const pb::Message* request, std::vector<size_t>* out) const {
  out->clear();
  if (indexes.empty() || request == nullptr) {
    for (size_t i = 0; i < ranked.size(); ++i) out->push_back(i);
    return;
  }
  out->insert(out->end(), unindexed.begin(), unindexed.end());
  for (const Index& index : indexes) {
    auto it = index.buckets.find(IndexKeyOf(*request, index.field));
    if (it != index.buckets.end()) out->insert(out->end(), it->second.begin(), it->second.end());
  }
  if (indexes.size() > 1 || !unindexed.empty()) std::sort(out->begin(), out->end());
}

absl::StatusOr<std::vector<std::string>> InteractionSet::ListFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  std::vector<std::string> errors;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file() && it->path().extension() == ".json") {
          found.push_back(it->path().string());
        }
      }
      if (ec) errors.push_back(absl::StrCat(path, ": ", ec.message()));
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else if (fs::exists(path, ec)) {
      // A FIFO or a device (/dev/zero) would block or never end: refused unread.
      errors.push_back(absl::StrCat(path, ": not a regular file or a directory"));
    } else {
      errors.push_back(absl::StrCat(path, ": no such file or directory"));
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) absl::StrAppend(&message, message.empty() ? "" : "\n", e);
    return absl::NotFoundError(message);
  }
  return files;
}

std::vector<InteractionSet::Source> InteractionSet::ReadSources(
    const std::vector<std::string>& paths, Diagnostics* diagnostics) {
  // A path that cannot be read is one problem among the others: every file that can be read is
  // still checked, so one run reports everything.
  std::vector<std::string> files;
  for (const auto& path : paths) {
    auto found = ListFiles({path});
    if (!found.ok()) {
      std::string message(found.status().message());
      const std::string prefix = path + ": ";
      diagnostics->Add(path, "",
                       message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message);
      continue;
    }
    files.insert(files.end(), found->begin(), found->end());
  }
  std::vector<Source> sources;
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::file_size(file, ec) > kMaxFileBytes) {
      diagnostics->Add(file, "", absl::StrCat("file is larger than the limit of ", kMaxFileBytes,
                                              " bytes"));
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      diagnostics->Add(file, "", "cannot read the file");
      continue;
    }
    // At most one byte over the limit is read, whatever the size said (a file may grow, or be
    // one of /proc's, which report 0).
    std::string text;
    const auto size = fs::file_size(file, ec);
    if (!ec) text.reserve(size);
    char chunk[1 << 16];
    while (text.size() <= kMaxFileBytes && (in.read(chunk, sizeof(chunk)) || in.gcount() > 0)) {
      text.append(chunk, static_cast<size_t>(in.gcount()));
    }
    if (text.size() > kMaxFileBytes) {
      diagnostics->Add(file, "", absl::StrCat("file is larger than the limit of ", kMaxFileBytes,
                                              " bytes"));
      continue;
    }
    sources.push_back({file, std::move(text)});
  }
  return sources;
}

absl::StatusOr<std::shared_ptr<InteractionSet>> InteractionSet::Load(
    std::shared_ptr<const Schema> schema, const std::vector<std::string>& paths,
    const std::vector<Source>& extra) {
  Diagnostics diagnostics;
  std::vector<Source> sources = ReadSources(paths, &diagnostics);
  sources.insert(sources.end(), extra.begin(), extra.end());
  auto set = LoadSources(std::move(schema), sources);
  sources = {};
  // The files' text and parsed JSON are freed now, several times the size of what was compiled
  // from them: give the pages back, or a server keeps the load's high-water mark for good.
  malloc_trim(0);
  if (diagnostics.empty()) return set;
  std::string message(diagnostics.ToStatus().message());
  if (!set.ok()) absl::StrAppend(&message, "\n", set.status().message());
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::shared_ptr<InteractionSet>> InteractionSet::LoadSources(
    std::shared_ptr<const Schema> schema, const std::vector<Source>& sources) {
  std::shared_ptr<InteractionSet> set(new InteractionSet(schema));
  Diagnostics diagnostics;
  for (const auto& source : sources) {
    nlohmann::json parsed = ParseJsonText(source.text, source.name, &diagnostics);
    if (parsed.is_discarded()) continue;
    for (auto& interaction : CompileFile(parsed, source.name, *schema, &diagnostics)) {
      interaction->load_order = set->interactions_.size();
      set->interactions_.push_back(std::move(interaction));
    }
  }
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  set->BuildIndex();
  return set;
}

std::shared_ptr<InteractionSet> InteractionSet::FromInteractions(
    std::shared_ptr<const Schema> schema, std::vector<std::unique_ptr<Interaction>> interactions) {
  std::shared_ptr<InteractionSet> set(new InteractionSet(std::move(schema)));
  set->interactions_ = std::move(interactions);
  for (size_t i = 0; i < set->interactions_.size(); ++i) set->interactions_[i]->load_order = i;
  set->BuildIndex();
  return set;
}

const MethodInteractions* InteractionSet::ForMethod(const pb::MethodDescriptor* method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? nullptr : &it->second;
}

void InteractionSet::BuildIndex() {
  for (const auto& interaction : interactions_) {
    MethodInteractions& m = methods_[interaction->method];
    m.method = interaction->method;
    m.ranked.push_back(interaction.get());
  }
  for (auto& [method, m] : methods_) {
    std::stable_sort(m.ranked.begin(), m.ranked.end(), [](const Interaction* a, const Interaction* b) {
      if (a->priority != b->priority) return a->priority > b->priority;
      if (a->specificity != b->specificity) return a->specificity > b->specificity;
      return a->load_order < b->load_order;
    });
    // Indexing pays off only with many interactions; a handful is faster to scan.
    if (m.ranked.size() < 8 || method->client_streaming()) {
      continue;
    }
    std::unordered_map<const pb::FieldDescriptor*, size_t> index_of;
    for (size_t rank = 0; rank < m.ranked.size(); ++rank) {
      const Interaction* i = m.ranked[rank];
      const pb::FieldDescriptor* field = nullptr;
      std::string key;
      if (i->body == nullptr || !i->body->IndexableField(&field, &key)) {
        m.unindexed.push_back(rank);
        continue;
      }
      auto [it, inserted] = index_of.emplace(field, m.indexes.size());
      if (inserted) m.indexes.push_back({field, {}});
      m.indexes[it->second].buckets[key].push_back(rank);
    }
  }
}

}  // namespace understudy
