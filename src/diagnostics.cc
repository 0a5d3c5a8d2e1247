#include "src/diagnostics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace understudy {

std::string Diagnostic::ToString() const {
  if (pointer.empty()) return absl::StrCat(file, ": ", message);
  return absl::StrCat(file, ": ", pointer, ": ", message);
}

void Diagnostics::Add(absl::string_view file, absl::string_view pointer,
                      absl::string_view message) {
  items_.push_back({std::string(file), std::string(pointer), std::string(message)});
}

absl::Status Diagnostics::ToStatus() const {
  if (items_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(
      items_, "\n", [](std::string* out, const Diagnostic& d) { out->append(d.ToString()); }));
}

std::string JoinPointer(absl::string_view pointer, absl::string_view token) {
  // Every field of every interaction gets a pointer: escape only the rare token that needs it.
  if (token.find_first_of("~/") == absl::string_view::npos)
    return absl::StrCat(pointer, "/", token);
  return absl::StrCat(pointer, "/", absl::StrReplaceAll(token, {{"~", "~0"}, {"/", "~1"}}));
}

std::string JoinPointer(absl::string_view pointer, size_t index) {
  return absl::StrCat(pointer, "/", index);
}

}  // namespace understudy
