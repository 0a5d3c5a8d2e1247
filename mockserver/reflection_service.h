// Server reflection over the run-time schema, so grpcurl, Postman and friends can describe the mock.
//
//   std::shared_ptr<const understudy::Schema> schema = ...;
//   auto reflection = understudy::MakeReflectionServices(schema, {"grpc.health.v1.Health"});
//   grpc::ServerBuilder builder;
//   for (auto& service : reflection) builder.RegisterService(service.get());
//   // keep `reflection` alive until the server has shut down
//
// gRPC's own reflection plugin answers from DescriptorPool::generated_pool(), which never holds the
// .proto files Understudy parses at run time; these services answer from the schema's pool instead.
// Both grpc.reflection.v1 and grpc.reflection.v1alpha are served (newer clients ask v1 first).
//
// Answers follow gRPC's reflection protocol:
//   - list_services: the schema's services, `extra_services`, and the two reflection services.
//   - file_by_filename, file_containing_symbol (messages, enums, enum values, services,
//     methods, fields, extensions, nested types; an enum value also as "pkg.Enum.VALUE") and
//     file_containing_extension answer serialized FileDescriptorProtos: the requested file first,
//     always, then each transitive dependency that this stream has not been sent yet.
//   - all_extension_numbers_of_type: the extension numbers known to the pool, ascending.
//   - Failures are an error_response on the stream, which stays open: NOT_FOUND for an unknown
//     file, symbol, type or extension; INVALID_ARGUMENT for a request that names nothing.
// Every response carries valid_host and original_request copied from its request.
//
// Files that are not in the schema's pool are served from the generated pool only when they are
// well-known types (google/protobuf/...) or define one of the listed services (e.g. the reflection
// and health protos compiled into this binary); nothing else in the binary is exposed.
//
// Thread safety: the services are stateless apart from per-call state and may serve any number of
// concurrent calls.
#ifndef UNDERSTUDY_MOCKSERVER_REFLECTION_SERVICE_H_
#define UNDERSTUDY_MOCKSERVER_REFLECTION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/impl/service_type.h>

#include "src/schema.h"

namespace understudy {

// Serves grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection from
// `schema`'s pool. list_services answers the schema's services plus `extra_services` (full names,
// e.g. "grpc.health.v1.Health"; the reflection services themselves are added automatically).
// Returns the two services; register them with a ServerBuilder and keep them alive until the
// server has shut down. `schema` must not be null.
std::vector<std::unique_ptr<grpc::Service>> MakeReflectionServices(
    std::shared_ptr<const Schema> schema, std::vector<std::string> extra_services);

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_REFLECTION_SERVICE_H_
