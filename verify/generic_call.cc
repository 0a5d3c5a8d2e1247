#include "verify/generic_call.h"

namespace understudy {
namespace {

MetadataPairs Pairs(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  MetadataPairs out;
  for (const auto& [key, value] : metadata) {
    out.emplace_back(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
  }
  return out;
}

}  // namespace

GenericCall::GenericCall(grpc::GenericStub* stub, const std::string& path,
                         const MetadataPairs& metadata,
                         std::chrono::system_clock::time_point deadline) {
  context_.set_deadline(deadline);
  for (const auto& [key, value] : metadata) context_.AddMetadata(key, value);
  call_ = stub->PrepareCall(&context_, path, &cq_);
}

GenericCall::~GenericCall() {
  if (started_ && alive_) {
    context_.TryCancel();
    Finish();
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

bool GenericCall::Await() {
  void* tag = nullptr;
  bool ok = false;
  if (!cq_.Next(&tag, &ok)) return false;
  return ok;
}

bool GenericCall::Start() {
  started_ = true;
  call_->StartCall(this);
  return Await();
}

bool GenericCall::Write(const std::string& bytes) {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  call_->Write(buffer, this);
  return Await();
}

bool GenericCall::WritesDone() {
  call_->WritesDone(this);
  return Await();
}

bool GenericCall::Read(std::string* bytes) {
  grpc::ByteBuffer buffer;
  call_->Read(&buffer, this);
  if (!Await()) return false;
  bytes->clear();
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  for (const auto& s : slices) bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

void GenericCall::Cancel() { context_.TryCancel(); }

grpc::Status GenericCall::Finish() {
  grpc::Status status;
  call_->Finish(&status, this);
  Await();
  alive_ = false;
  return status;
}

MetadataPairs GenericCall::Headers() const { return Pairs(context_.GetServerInitialMetadata()); }
MetadataPairs GenericCall::Trailers() const { return Pairs(context_.GetServerTrailingMetadata()); }

}  // namespace understudy
