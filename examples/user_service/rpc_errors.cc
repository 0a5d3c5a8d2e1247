#include "examples/user_service/rpc_errors.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace user_service {
namespace {

grpc::Status WithDetail(grpc::StatusCode code, const std::string& message,
                        const google::protobuf::Message& detail) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(message);
  status.add_details()->PackFrom(detail);
  return grpc::Status(code, message, status.SerializeAsString());
}

}  // namespace

grpc::Status BadRequest(const std::string& message,
                        const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest detail;
  for (const FieldViolation& v : violations) {
    auto* out = detail.add_field_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  return WithDetail(grpc::StatusCode::INVALID_ARGUMENT, message, detail);
}

grpc::Status WithErrorInfo(grpc::StatusCode code, const std::string& message,
                           const std::string& reason,
                           const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo detail;
  detail.set_reason(reason);
  detail.set_domain(kErrorDomain);
  detail.mutable_metadata()->insert(metadata.begin(), metadata.end());
  return WithDetail(code, message, detail);
}

grpc::Status PreconditionFailed(const std::string& message, const std::string& type,
                                const std::string& subject, const std::string& description) {
  google::rpc::PreconditionFailure detail;
  auto* v = detail.add_violations();
  v->set_type(type);
  v->set_subject(subject);
  v->set_description(description);
  return WithDetail(grpc::StatusCode::FAILED_PRECONDITION, message, detail);
}

grpc::Status Internal(const absl::Status& status) {
  return grpc::Status(grpc::StatusCode::INTERNAL, std::string(status.message()));
}

}  // namespace user_service
