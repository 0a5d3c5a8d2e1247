// understudy.admin.v1.MockAdmin on an embedded MockServer, called over a real channel: live
// changes, the journal, scenarios, the token, and the service being off.
#include "mockserver/admin_service.h"

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "mockserver/mock_server.h"
#include "understudy/admin/v1/admin.grpc.pb.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace v1 = ::understudy::admin::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kToken[] = "s3cret";

// GetUser 42 answers "Ada"; in scenario "account", only while the state is "Started".
constexpr char kStartInteractions[] = R"({"interactions": [{
    "name": "user 42",
    "method": "user.UserService/GetUser",
    "scenario": "account",
    "whenState": "Started",
    "request": {"body": {"userId": "42"}},
    "response": {"body": {"user": {"id": "42", "name": "Ada"}}}}]})";

constexpr char kUser7[] = R"({
    "name": "user 7",
    "method": "user.UserService/GetUser",
    "request": {"body": {"userId": "7"}},
    "response": {"body": {"user": {"id": "7", "name": "Grace"}}}})";

std::unique_ptr<MockServer> StartMock(bool admin, const std::string& token) {
  MockServerOptions options;
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.interaction_json = {kStartInteractions};
  options.admin = admin;
  options.admin_token = token;
  auto mock = MockServer::Start(options);
  EXPECT_TRUE(mock.ok()) << mock.status();
  return mock.ok() ? std::move(*mock) : nullptr;
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = StartMock(/*admin=*/true, kToken);
    ASSERT_NE(mock_, nullptr);
    admin_ = v1::MockAdmin::NewStub(mock_->Channel());
    users_ = user::UserService::NewStub(mock_->Channel());
  }

  // A context carrying the token (or `token`), with a deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  grpc::Status GetUser(const std::string& id, user::GetUserResponse* response) {
    auto context = Context("");
    user::GetUserRequest request;
    request.set_user_id(id);
    return users_->GetUser(context.get(), request, response);
  }

  grpc::Status Add(const std::string& json, v1::AddInteractionsResponse* response) {
    v1::AddInteractionsRequest request;
    request.set_json(json);
    return admin_->AddInteractions(Context().get(), request, response);
  }

  v1::ListInteractionsResponse List() {
    v1::ListInteractionsResponse response;
    grpc::Status status = admin_->ListInteractions(Context().get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::unique_ptr<MockServer> mock_;
  std::unique_ptr<v1::MockAdmin::Stub> admin_;
  std::unique_ptr<user::UserService::Stub> users_;
};

TEST_F(AdminServiceTest, AddedInteractionAnswersTheNextCall) {
  user::GetUserResponse user;
  EXPECT_FALSE(GetUser("7", &user).ok());

  v1::AddInteractionsResponse added;
  grpc::Status status = Add(kUser7, &added);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(added.added(), 1);

  status = GetUser("7", &user);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(user.user().name(), "Grace");
}

TEST_F(AdminServiceTest, AddCountsTheInteractionsOfAWholeFile) {
  v1::AddInteractionsResponse added;
  std::string file = std::string(R"({"interactions": [)") + kUser7 + R"(, {
      "name": "user 8", "method": "user.UserService/GetUser",
      "request": {"body": {"userId": "8"}}, "response": {"body": {}}}]})";
  grpc::Status status = Add(file, &added);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(added.added(), 2);
  EXPECT_EQ(List().interactions_size(), 3);
}

TEST_F(AdminServiceTest, InvalidAddIsInvalidArgumentWithPointerAndChangesNothing) {
  v1::AddInteractionsResponse added;
  grpc::Status status = Add(R"({"name": "bad", "method": "user.UserService/GetUser",
      "request": {"body": {"noSuchField": 1}}, "response": {"body": {}}})",
                            &added);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("/request/body/noSuchField"));
  EXPECT_THAT(status.error_message(), HasSubstr("<added"));

  EXPECT_EQ(List().interactions_size(), 1);
  user::GetUserResponse user;
  grpc::Status call = GetUser("42", &user);
  ASSERT_TRUE(call.ok()) << call.error_message();
  EXPECT_EQ(user.user().name(), "Ada");
}

TEST_F(AdminServiceTest, ListShowsEachInteractionWithItsServedCount) {
  user::GetUserResponse user;
  ASSERT_TRUE(GetUser("42", &user).ok());
  ASSERT_TRUE(GetUser("42", &user).ok());

  v1::ListInteractionsResponse list = List();
  ASSERT_EQ(list.interactions_size(), 1);
  const v1::Interaction& listed = list.interactions(0);
  EXPECT_EQ(listed.name(), "user 42");
  EXPECT_EQ(listed.method(), "user.UserService/GetUser");
  EXPECT_EQ(listed.file(), "<inline 0>");
  EXPECT_EQ(listed.times(), -1);
  EXPECT_EQ(listed.served(), 2);
  EXPECT_EQ(listed.scenario(), "account");
}

TEST_F(AdminServiceTest, RemoveStopsServingAndAnUnknownNameIsNotFound) {
  v1::RemoveInteractionRequest remove;
  remove.set_name("user 42");
  v1::RemoveInteractionResponse removed;
  grpc::Status status = admin_->RemoveInteraction(Context().get(), remove, &removed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(List().interactions_size(), 0);
  user::GetUserResponse user;
  EXPECT_FALSE(GetUser("42", &user).ok());

  status = admin_->RemoveInteraction(Context().get(), remove, &removed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminServiceTest, ResetBringsBackTheStartInteractionsAndEmptiesTheJournal) {
  v1::AddInteractionsResponse added;
  ASSERT_TRUE(Add(kUser7, &added).ok());
  user::GetUserResponse user;
  ASSERT_TRUE(GetUser("42", &user).ok());

  v1::ResetInteractionsResponse reset;
  ASSERT_TRUE(admin_->ResetInteractions(Context().get(), {}, &reset).ok());
  v1::ListInteractionsResponse list = List();
  ASSERT_EQ(list.interactions_size(), 1);
  EXPECT_EQ(list.interactions(0).served(), 0);
  EXPECT_TRUE(mock_->Calls().empty());
}

TEST_F(AdminServiceTest, JournalShowsTheCallWithItsRequestJson) {
  user::GetUserResponse user;
  ASSERT_TRUE(GetUser("42", &user).ok());
  ASSERT_EQ(mock_->WaitForCalls("user.UserService/GetUser", 1).size(), 1u);

  v1::GetJournalRequest request;
  request.set_method("user.UserService/GetUser");
  v1::GetJournalResponse journal;
  grpc::Status status = admin_->GetJournal(Context().get(), request, &journal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(journal.calls_size(), 1);
  const v1::RecordedCall& call = journal.calls(0);
  EXPECT_EQ(call.method(), "user.UserService/GetUser");
  ASSERT_EQ(call.request_json_size(), 1);
  EXPECT_THAT(call.request_json(0), HasSubstr(R"("userId")"));
  EXPECT_THAT(call.request_json(0), HasSubstr(R"("42")"));
  EXPECT_EQ(call.interaction(), "user 42");
  EXPECT_EQ(call.code(), 0);
  EXPECT_TRUE(call.miss().empty());
  EXPECT_GT(call.start().seconds(), 0);
  EXPECT_GE(call.end().seconds(), call.start().seconds());

  // Admin calls are not mocked calls: they are not in the journal.
  v1::GetJournalResponse all;
  ASSERT_TRUE(admin_->GetJournal(Context().get(), {}, &all).ok());
  EXPECT_EQ(all.calls_size(), 1);
}

TEST_F(AdminServiceTest, JournalLimitKeepsTheMostRecentAndClearEmptiesIt) {
  user::GetUserResponse user;
  ASSERT_TRUE(GetUser("42", &user).ok());
  GetUser("1", &user);
  ASSERT_EQ(mock_->WaitForCalls("user.UserService/GetUser", 2).size(), 2u);

  v1::GetJournalRequest request;
  request.set_limit(1);
  v1::GetJournalResponse journal;
  ASSERT_TRUE(admin_->GetJournal(Context().get(), request, &journal).ok());
  ASSERT_EQ(journal.calls_size(), 1);
  EXPECT_THAT(journal.calls(0).request_json(0), HasSubstr(R"("1")"));

  v1::ClearJournalResponse cleared;
  ASSERT_TRUE(admin_->ClearJournal(Context().get(), {}, &cleared).ok());
  journal.Clear();
  ASSERT_TRUE(admin_->GetJournal(Context().get(), {}, &journal).ok());
  EXPECT_EQ(journal.calls_size(), 0);
}

TEST_F(AdminServiceTest, UnmatchedCallIsListedWithWhyNothingAnswered) {
  user::GetUserResponse user;
  ASSERT_TRUE(GetUser("42", &user).ok());
  EXPECT_FALSE(GetUser("99", &user).ok());
  ASSERT_EQ(mock_->WaitForCalls("user.UserService/GetUser", 2).size(), 2u);

  v1::ListUnmatchedCallsResponse unmatched;
  grpc::Status status = admin_->ListUnmatchedCalls(Context().get(), {}, &unmatched);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(unmatched.calls_size(), 1);
  EXPECT_THAT(unmatched.calls(0).request_json(0), HasSubstr(R"("99")"));
  EXPECT_FALSE(unmatched.calls(0).miss().empty());
  EXPECT_NE(unmatched.calls(0).code(), 0);
}

TEST_F(AdminServiceTest, ScenarioStatesAreReadAndSet) {
  v1::GetScenarioStatesResponse states;
  ASSERT_TRUE(admin_->GetScenarioStates(Context().get(), {}, &states).ok());
  EXPECT_THAT(states.states(), UnorderedElementsAre(Pair("account", "Started")));

  v1::SetScenarioStateRequest set;
  set.set_scenario("account");
  set.set_state("closed");
  v1::SetScenarioStateResponse done;
  ASSERT_TRUE(admin_->SetScenarioState(Context().get(), set, &done).ok());
  EXPECT_EQ(mock_->ScenarioState("account"), "closed");
  states.Clear();
  ASSERT_TRUE(admin_->GetScenarioStates(Context().get(), {}, &states).ok());
  EXPECT_THAT(states.states(), UnorderedElementsAre(Pair("account", "closed")));

  // The interaction only answers in "Started".
  user::GetUserResponse user;
  EXPECT_FALSE(GetUser("42", &user).ok());
}

TEST_F(AdminServiceTest, CallWithoutTheTokenIsUnauthenticatedAndChangesNothing) {
  v1::RemoveInteractionRequest remove;
  remove.set_name("user 42");
  v1::RemoveInteractionResponse removed;
  grpc::Status status = admin_->RemoveInteraction(Context("").get(), remove, &removed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = admin_->RemoveInteraction(Context("wrong").get(), remove, &removed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List().interactions_size(), 1);
}

TEST(AdminService, WithoutATokenEveryCallIsLetThrough) {
  auto mock = StartMock(/*admin=*/true, "");
  ASSERT_NE(mock, nullptr);
  auto admin = v1::MockAdmin::NewStub(mock->Channel());
  grpc::ClientContext context;
  v1::ListInteractionsResponse list;
  grpc::Status status = admin->ListInteractions(&context, {}, &list);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(list.interactions_size(), 1);
}

TEST(AdminService, OffByDefaultSoAdminMethodsAreUnimplemented) {
  MockServerOptions options;  // `admin` left as it defaults
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.interaction_json = {kStartInteractions};
  auto started = MockServer::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<MockServer> mock = std::move(*started);
  auto admin = v1::MockAdmin::NewStub(mock->Channel());
  grpc::ClientContext context;
  v1::ListInteractionsResponse list;
  EXPECT_EQ(admin->ListInteractions(&context, {}, &list).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  grpc::ClientContext add_context;
  v1::AddInteractionsRequest add;
  add.set_json(kUser7);
  v1::AddInteractionsResponse added;
  EXPECT_EQ(admin->AddInteractions(&add_context, add, &added).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(mock->interactions()->interactions().size(), 1u);
}

TEST_F(AdminServiceTest, ReflectionListsAndDescribesTheAdminService) {
  namespace reflection = ::grpc::reflection::v1;
  auto stub = reflection::ServerReflection::NewStub(mock_->Channel());
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  request.set_list_services("*");
  ASSERT_TRUE(stream->Write(request));
  reflection::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services, ::testing::Contains("understudy.admin.v1.MockAdmin"));

  request.set_file_containing_symbol("understudy.admin.v1.MockAdmin");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_GT(response.file_descriptor_response().file_descriptor_proto_size(), 0)
      << response.DebugString();
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(response.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "understudy/admin/v1/admin.proto");
  ASSERT_EQ(file.service_size(), 1);
  EXPECT_EQ(file.service(0).method_size(), 9);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// `count` GetUser interactions "user N" answering userId N, as one file.
std::string ManyUsers(int count, int first = 0) {
  std::string json = R"({"interactions": [)";
  for (int i = first; i < first + count; ++i) {
    if (i > first) json += ",";
    json += absl::StrCat(R"({"name": "user )", i, R"(", "method": "user.UserService/GetUser",)",
                         R"("request": {"body": {"userId": ")", i, R"("}},)",
                         R"("response": {"body": {"user": {"id": ")", i, R"("}}}})");
  }
  return json + "]}";
}

std::unique_ptr<MockServer> StartWith(void (*configure)(MockServerOptions*)) {
  MockServerOptions options;
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.interaction_json = {kStartInteractions};
  options.admin = true;
  configure(&options);
  auto mock = MockServer::Start(options);
  EXPECT_TRUE(mock.ok()) << mock.status();
  return mock.ok() ? std::move(*mock) : nullptr;
}

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// `count` threads, each adding one interaction to `mock` through the admin service, with its
// status in `statuses` (and `done` counted) when answered. Returns once the first add has
// landed (the set has grown past `base`): the others are queued behind it or running.
std::vector<std::thread> QueueAdds(MockServer* mock, size_t base, int count,
                                   std::vector<grpc::Status>* statuses, std::atomic<int>* done) {
  statuses->assign(count, grpc::Status());
  std::vector<std::thread> adders;
  for (int a = 0; a < count; ++a) {
    adders.emplace_back([=] {
      auto admin = v1::MockAdmin::NewStub(mock->Channel());
      v1::AddInteractionsRequest request;
      request.set_json(ManyUsers(1, 100000 + a));
      v1::AddInteractionsResponse response;
      (*statuses)[a] = admin->AddInteractions(Deadline(120).get(), request, &response);
      ++*done;
    });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (mock->interactions()->interactions().size() == base &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return adders;
}

// Adds of a large set recompile it on the admin service's own thread: while several queue up,
// the mocked calls are answered at once, not after them.
TEST(AdminService, LargeAddsQueuedUpDoNotHoldUpMockedCalls) {
  auto mock = StartWith([](MockServerOptions* options) {
    options->interaction_json.push_back(ManyUsers(5000));
  });
  ASSERT_NE(mock, nullptr);
  constexpr int kAdds = 4;
  std::atomic<int> adds_done{0};
  std::vector<grpc::Status> statuses;
  std::vector<std::thread> adders = QueueAdds(mock.get(), 5001, kAdds, &statuses, &adds_done);
  auto users = user::UserService::NewStub(mock->Channel());
  user::GetUserRequest request;
  request.set_user_id("123");
  user::GetUserResponse response;
  grpc::Status status = users->GetUser(Deadline(30).get(), request, &response);
  const int done_when_answered = adds_done.load();
  for (auto& adder : adders) adder.join();
  for (const grpc::Status& add : statuses) EXPECT_TRUE(add.ok()) << add.error_message();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "123");
  EXPECT_LT(done_when_answered, kAdds) << "the mocked call waited for every admin change";
  EXPECT_EQ(mock->interactions()->interactions().size(), 5001u + kAdds);
}

TEST(AdminService, ListInteractionsPagesAndStopsBeforeTheMessageSizeLimit) {
  auto mock = StartWith([](MockServerOptions* options) {
    options->interaction_json.push_back(ManyUsers(3000, 1000));
    options->max_message_bytes = 64 << 10;
  });
  ASSERT_NE(mock, nullptr);
  auto admin = v1::MockAdmin::NewStub(mock->Channel());
  // Explicit pages.
  v1::ListInteractionsRequest request;
  request.set_page_size(2);
  v1::ListInteractionsResponse page;
  ASSERT_TRUE(admin->ListInteractions(Deadline().get(), request, &page).ok());
  EXPECT_EQ(page.interactions_size(), 2);
  EXPECT_EQ(page.next_page_token(), "2");
  EXPECT_EQ(page.total(), 3001);
  // No page size: each answer stops before 64 KiB, and the pages together hold every one.
  std::set<std::string> names;
  request.Clear();
  int pages = 0;
  do {
    page.Clear();
    grpc::Status status = admin->ListInteractions(Deadline().get(), request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LT(page.ByteSizeLong(), 64u << 10);
    for (const auto& interaction : page.interactions()) names.insert(interaction.name());
    request.set_page_token(page.next_page_token());
    ++pages;
  } while (!page.next_page_token().empty() && pages < 100);
  EXPECT_GT(pages, 1);
  EXPECT_EQ(names.size(), 3001u);
  request.set_page_token("nonsense");
  EXPECT_EQ(admin->ListInteractions(Deadline().get(), request, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(AdminService, JournalAnswerKeepsTheMostRecentCallsThatFitAndCountsTheRest) {
  auto mock = StartWith([](MockServerOptions* options) {
    options->interaction_json.push_back(R"({"interactions": [{"name": "any",
        "method": "user.UserService/GetUser", "response": {"body": {}}}]})");
    options->max_message_bytes = 64 << 10;
  });
  ASSERT_NE(mock, nullptr);
  auto users = user::UserService::NewStub(mock->Channel());
  for (int i = 0; i < 40; ++i) {
    user::GetUserRequest request;
    request.set_user_id(std::to_string(i) + std::string(4000, '.'));
    user::GetUserResponse response;
    ASSERT_TRUE(users->GetUser(Deadline().get(), request, &response).ok());
  }
  auto admin = v1::MockAdmin::NewStub(mock->Channel());
  v1::GetJournalResponse journal;
  grpc::Status status = admin->GetJournal(Deadline().get(), {}, &journal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GT(journal.calls_size(), 0);
  EXPECT_GT(journal.omitted(), 0);
  EXPECT_EQ(journal.calls_size() + journal.omitted(), 40);
  EXPECT_EQ(journal.calls(journal.calls_size() - 1).sequence(), 40u);
}

TEST(AdminService, AddPastMaxInteractionsIsResourceExhaustedAndChangesNothing) {
  auto mock = StartWith([](MockServerOptions* options) { options->max_interactions = 3; });
  ASSERT_NE(mock, nullptr);
  auto admin = v1::MockAdmin::NewStub(mock->Channel());
  v1::AddInteractionsRequest request;
  request.set_json(ManyUsers(3));
  v1::AddInteractionsResponse response;
  grpc::Status status = admin->AddInteractions(Deadline().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("4 interactions, over the mock's limit of 3"));
  EXPECT_EQ(mock->interactions()->interactions().size(), 1u);
  request.set_json(ManyUsers(2));
  EXPECT_TRUE(admin->AddInteractions(Deadline().get(), request, &response).ok());
}

// A backlog of admin changes does not hold up shutdown: what is still queued is refused.
TEST(AdminService, ShutdownRefusesQueuedChangesInsteadOfCompilingThem) {
  auto mock = StartWith([](MockServerOptions* options) {
    options->interaction_json.push_back(ManyUsers(5000));
  });
  ASSERT_NE(mock, nullptr);
  std::atomic<int> adds_done{0};
  std::vector<grpc::Status> statuses;
  std::vector<std::thread> adders = QueueAdds(mock.get(), 5001, 30, &statuses, &adds_done);
  mock->Shutdown(std::chrono::milliseconds(100));
  for (auto& adder : adders) adder.join();
  int refused = 0;
  for (const grpc::Status& status : statuses) {
    if (status.ok()) continue;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    ++refused;
  }
  EXPECT_GT(refused, 0) << "every queued change was compiled before the server shut down";
}

}  // namespace
}  // namespace understudy
