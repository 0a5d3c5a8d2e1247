// Explains why JSON is not a valid message in the proto3 JSON mapping, field by field.
//
//   if (!JsonStringToMessage(body.dump(), message).ok() &&
//       !ExplainInvalidJson(body, type, schema, file, "/interactions/0/response/body", &d)) {
//     d.Add(file, pointer, parser_message);  // could not tell which field
//   }
//
// protobuf's parser stops at its first error and names no JSON pointer. This asks the parser
// again about each field alone and reports every field it rejects, at that field's pointer, with
// what the schema expects there (and a did-you-mean for unknown names). The parser stays the
// judge: a field the parser accepts on its own is reported only for a leniency of the parser that
// the JSON mapping does not have (see FindLenientJson).
#ifndef UNDERSTUDY_SRC_JSON_EXPLAIN_H_
#define UNDERSTUDY_SRC_JSON_EXPLAIN_H_

#include <string>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "src/diagnostics.h"

namespace understudy {

class Schema;

// Adds one diagnostic per field of `body` that `type` rejects. False (and adds nothing) when no
// single field is to blame, e.g. for two members of one oneof, or a well-known type at the root.
bool ExplainInvalidJson(const nlohmann::json& body, const google::protobuf::Descriptor* type,
                        const Schema& schema, const std::string& file, const std::string& pointer,
                        Diagnostics* diagnostics);

// For a body the parser accepted: adds one diagnostic per value it took only out of leniency,
// not as the JSON mapping writes it (a single value for a repeated field, which it reads as a
// one-element array). Returns whether it found any.
bool FindLenientJson(const nlohmann::json& body, const google::protobuf::Descriptor* type,
                     const Schema& schema, const std::string& file, const std::string& pointer,
                     Diagnostics* diagnostics);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_JSON_EXPLAIN_H_
