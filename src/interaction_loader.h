// Compiles interaction files (SPEC.md, "Interaction files") into Interactions.
#ifndef UNDERSTUDY_SRC_INTERACTION_LOADER_H_
#define UNDERSTUDY_SRC_INTERACTION_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/diagnostics.h"
#include "src/interaction.h"
#include "src/schema.h"

namespace understudy {

// Limits on what a file may hold; a file over them is refused with a clear error.
inline constexpr size_t kMaxFileBytes = 64 << 20;
inline constexpr int kMaxJsonDepth = 128;
// The longest `delayMs` (24 hours): a call waits at most the response's delay plus one message's,
// far from any overflow of the clocks' arithmetic.
inline constexpr int64_t kMaxDelayMs = 24 * 60 * 60 * 1000;

// Parses JSON text with the depth limit; on failure adds a diagnostic and returns discarded json.
nlohmann::json ParseJsonText(const std::string& text, const std::string& file,
                             Diagnostics* diagnostics);

// Compiles every interaction of a parsed file. Problems go to `diagnostics`; the interactions of
// a file with problems must not be used.
std::vector<std::unique_ptr<Interaction>> CompileFile(const nlohmann::json& file_json,
                                                      const std::string& file,
                                                      const Schema& schema,
                                                      Diagnostics* diagnostics);

// Compiles one interaction (e.g. one added at run time); `pointer` locates it in errors.
std::unique_ptr<Interaction> CompileInteraction(const nlohmann::json& spec, const std::string& file,
                                                const std::string& pointer, const Schema& schema,
                                                Diagnostics* diagnostics);
// The same from an interaction's source text (Interaction::source_text), which it then shares.
std::unique_ptr<Interaction> CompileInteraction(std::shared_ptr<const std::string> source_text,
                                                const std::string& file, const std::string& pointer,
                                                const Schema& schema, Diagnostics* diagnostics);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_INTERACTION_LOADER_H_
