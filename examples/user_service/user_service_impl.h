// UserServiceImpl: user.UserService (proto/user.proto) on the gRPC callback API, backed by a
// UserStore. The behaviour contracts/user_service/*.json describe, for real.
//
//   UserServiceImpl service(Backend{store, &auth, ServiceOptions{}});
//   builder.RegisterService(&service);
//   builder.experimental().SetInterceptorCreators(Interceptors(&auth));   // see auth.h
//
// Every call is admitted by the Authenticator first (UNAUTHENTICATED otherwise) and answers with
// `x-served-by` and `x-backend` and the client's `x-request-id`. Unary calls run on gRPC's
// callback threads and read SQLite there (short queries); streams are reactors (user_streams.h).
//
// Thread safety: the handlers run on many threads at once; all state is in the UserStore.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVICE_IMPL_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVICE_IMPL_H_

#include "examples/user_service/handler_support.h"
#include "user.grpc.pb.h"

namespace user_service {

class UserServiceImpl final : public user::UserService::CallbackService {
 public:
  // `backend`'s store and authenticator must outlive the server.
  explicit UserServiceImpl(Backend backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const user::GetUserRequest* request,
                                    user::GetUserResponse* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const user::ListUsersRequest* request,
                                      user::ListUsersResponse* response) override;
  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const user::CreateUserRequest* request,
                                       user::CreateUserResponse* response) override;
  grpc::ServerUnaryReactor* UpdateUser(grpc::CallbackServerContext* context,
                                       const user::UpdateUserRequest* request,
                                       user::UpdateUserResponse* response) override;
  grpc::ServerUnaryReactor* DeleteUser(grpc::CallbackServerContext* context,
                                       const user::DeleteUserRequest* request,
                                       user::DeleteUserResponse* response) override;
  grpc::ServerWriteReactor<user::UserResponse>* StreamUsers(
      grpc::CallbackServerContext* context, const user::StreamUsersRequest* request) override;
  grpc::ServerReadReactor<user::CreateUserRequest>* CreateUserStream(
      grpc::CallbackServerContext* context, user::CreateUserResponse* response) override;
  grpc::ServerBidiReactor<user::BidirectionalRequest, user::BidirectionalResponse>*
  BidirectionalStream(grpc::CallbackServerContext* context) override;

 private:
  grpc::Status DoGetUser(const user::GetUserRequest& request, user::GetUserResponse* response);
  grpc::Status DoListUsers(grpc::CallbackServerContext* context,
                           const user::ListUsersRequest& request,
                           user::ListUsersResponse* response);
  grpc::Status DoCreateUser(grpc::CallbackServerContext* context,
                            const user::CreateUserRequest& request,
                            user::CreateUserResponse* response);
  grpc::Status DoUpdateUser(const user::UpdateUserRequest& request,
                            user::UpdateUserResponse* response);
  grpc::Status DoDeleteUser(const user::DeleteUserRequest& request,
                            user::DeleteUserResponse* response);

  const Backend backend_;
};

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVICE_IMPL_H_
