#include "src/check.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "src/interaction_loader.h"
#include "src/interaction_set.h"

namespace understudy {
namespace {

using json = nlohmann::json;

constexpr absl::string_view kPrefix = "/interactions/";

// N for a pointer "/interactions/N" or "/interactions/N/...", or false.
bool InteractionIndex(absl::string_view pointer, size_t* index) {
  if (!absl::ConsumePrefix(&pointer, kPrefix)) return false;
  return absl::SimpleAtoi(pointer.substr(0, pointer.find('/')), index);
}

}  // namespace

std::string CheckedInteraction::Label() const {
  if (name.empty()) return absl::StrCat(pointer, " (", file, ")");
  return absl::StrCat("\"", name, "\" (", file, ")");
}

std::vector<const CheckedInteraction*> CheckReport::Broken() const {
  std::vector<const CheckedInteraction*> out;
  for (const auto& i : interactions) {
    if (i.problems > 0) out.push_back(&i);
  }
  return out;
}

CheckReport CheckFiles(const Schema& schema, const std::vector<std::string>& paths) {
  CheckReport report;
  std::vector<InteractionSet::Source> sources =
      InteractionSet::ReadSources(paths, &report.diagnostics);
  report.files = sources.size();
  for (const auto& source : sources) {
    size_t first_problem = report.diagnostics.size();
    json parsed = ParseJsonText(source.text, source.name, &report.diagnostics);
    if (parsed.is_discarded()) continue;
    CompileFile(parsed, source.name, schema, &report.diagnostics);
    if (!parsed.is_object() || !parsed.contains("interactions") ||
        !parsed.at("interactions").is_array()) {
      continue;
    }
    const json& list = parsed.at("interactions");
    size_t first = report.interactions.size();
    for (size_t i = 0; i < list.size(); ++i) {
      CheckedInteraction checked{source.name, absl::StrCat(kPrefix, i), "", 0};
      const json& entry = list.at(i);
      if (entry.is_object() && entry.contains("name") && entry.at("name").is_string()) {
        checked.name = entry.at("name").get<std::string>();
      }
      report.interactions.push_back(std::move(checked));
    }
    for (size_t d = first_problem; d < report.diagnostics.size(); ++d) {
      size_t index;
      if (InteractionIndex(report.diagnostics.items()[d].pointer, &index) && index < list.size()) {
        ++report.interactions[first + index].problems;
      }
    }
  }
  return report;
}

}  // namespace understudy
