#include "src/interaction_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "src/interaction_set.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;
using testing_util::InventorySchema;
using testing_util::SourcePath;
using testing_util::UserSchema;

std::vector<std::string> Lines(const absl::Status& status) {
  return absl::StrSplit(std::string(status.message()), '\n', absl::SkipEmpty());
}

// Loads inline files (name, JSON text) against the UserService schema.
absl::StatusOr<std::shared_ptr<InteractionSet>> LoadTexts(
    const std::vector<InteractionSet::Source>& sources,
    std::shared_ptr<const Schema> schema = UserSchema()) {
  return InteractionSet::LoadSources(std::move(schema), sources);
}

// Loads one interaction (JSON text) in a file of its own, "test.json"; the status on failure.
absl::Status LoadOne(const std::string& interaction) {
  auto set = LoadTexts({{"test.json", "{\"interactions\": [" + interaction + "]}"}});
  return set.ok() ? absl::OkStatus() : set.status();
}

// The single error line a one-interaction file produces.
std::string ErrorOf(const std::string& interaction) {
  absl::Status status = LoadOne(interaction);
  EXPECT_FALSE(status.ok()) << interaction;
  auto lines = Lines(status);
  EXPECT_EQ(lines.size(), 1u) << status;
  return lines.empty() ? "" : lines[0];
}

// --- the files of tests/data/bad (see its README.md) ----------------------------------------

// Loads one bad file: it must fail with exactly one line, "FILE: POINTER: MESSAGE" (no pointer
// part when `pointer` is empty), whose message holds every one of `facts`.
void ExpectBadFile(const std::string& name, const std::string& pointer,
                   const std::vector<std::string>& facts) {
  std::string path = SourcePath("tests/data/bad/" + name);
  auto set = InteractionSet::Load(UserSchema(), {path});
  ASSERT_FALSE(set.ok()) << name << " loaded";
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  auto lines = Lines(set.status());
  ASSERT_EQ(lines.size(), 1u) << set.status();
  const std::string prefix = pointer.empty() ? path + ": " : path + ": " + pointer + ": ";
  EXPECT_TRUE(absl::StartsWith(lines[0], prefix)) << lines[0] << "\ndoes not start with\n"
                                                  << prefix;
  if (!pointer.empty()) {
    // The pointer is the whole pointer, not the prefix of a longer one.
    EXPECT_FALSE(absl::StartsWith(lines[0], path + ": " + pointer + "/")) << lines[0];
  }
  for (const auto& fact : facts) EXPECT_THAT(lines[0], HasSubstr(fact));
}

TEST(InteractionLoaderBadFiles, UnknownField) {
  ExpectBadFile("unknown_field.json", "/interactions/0/request/body/userid",
                {"\"userid\"", "user.GetUserRequest", "did you mean \"userId\""});
}

TEST(InteractionLoaderBadFiles, UnknownMethod) {
  ExpectBadFile("unknown_method.json", "/interactions/0/method",
                {"\"GetUsr\"", "user.UserService", "did you mean \"GetUser\""});
}

TEST(InteractionLoaderBadFiles, UnknownService) {
  ExpectBadFile("unknown_service.json", "/interactions/0/method", {"user.AccountService"});
}

TEST(InteractionLoaderBadFiles, DuplicateName) {
  ExpectBadFile("duplicate_name.json", "/interactions/1/name",
                {"duplicate name \"get user 42\"", "/interactions/0"});
}

TEST(InteractionLoaderBadFiles, WrongType) {
  ExpectBadFile("wrong_type.json", "/interactions/0/request/body/limit",
                {"\"ten\"", "int32", "limit", "user.ListUsersRequest"});
}

TEST(InteractionLoaderBadFiles, BodyForStream) {
  ExpectBadFile("body_for_stream.json", "/interactions/0/request/body",
                {"user.UserService/CreateUserStream", "client streaming", "stream"});
}

TEST(InteractionLoaderBadFiles, StreamForUnary) {
  ExpectBadFile("stream_for_unary.json", "/interactions/0/response/stream",
                {"user.UserService/GetUser", "unary", "body"});
}

TEST(InteractionLoaderBadFiles, BadRegex) {
  ExpectBadFile("bad_regex.json", "/interactions/0/request/body/userId/$regex",
                {"(unclosed", "missing )"});
}

TEST(InteractionLoaderBadFiles, UnknownMatcher) {
  ExpectBadFile("unknown_matcher.json", "/interactions/0/request/body/userId/$regexp",
                {"$regexp", "did you mean \"$regex\""});
}

TEST(InteractionLoaderBadFiles, BadStatusCode) {
  ExpectBadFile("bad_status_code.json", "/interactions/0/response/status/code",
                {"\"NOT_A_CODE\"", "NOT_FOUND"});
}

TEST(InteractionLoaderBadFiles, InvalidJson) { ExpectBadFile("invalid_json.json", "", {"line 6"}); }

TEST(InteractionLoaderBadFiles, MissingMethod) {
  // README: the pointer names the missing member.
  ExpectBadFile("missing_method.json", "/interactions/0/method", {"missing", "\"method\""});
}

TEST(InteractionLoaderBadFiles, BadEnum) {
  ExpectBadFile("bad_enum.json", "/interactions/0/request/body/status",
                {"\"USER_STATUS_DELETED\"", "user.UserStatus"});
}

TEST(InteractionLoaderBadFiles, NotAnObject) {
  ExpectBadFile("not_an_object.json", "", {"{\"interactions\": [...]}"});
  // The empty pointer: the line is "FILE: MESSAGE", nothing between.
  auto set = InteractionSet::Load(UserSchema(), {SourcePath("tests/data/bad/not_an_object.json")});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("not_an_object.json: expected"));
}

TEST(InteractionLoaderBadFiles, DuplicateKey) {
  ExpectBadFile("duplicate_key.json", "/interactions/0/request/body/userId",
                {"duplicate key \"userId\"", "already"});
}

TEST(InteractionLoaderBadFiles, HugeDelay) {
  ExpectBadFile("huge_delay.json", "/interactions/0/response/stream/0/delayMs",
                {"9223372036854775807", "86400000"});
}

TEST(InteractionLoaderBadFiles, TheWholeDirectoryReportsEveryFile) {
  std::string dir = SourcePath("tests/data/bad");
  auto files = InteractionSet::ListFiles({dir});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 16u);
  auto set = InteractionSet::Load(UserSchema(), {dir});
  ASSERT_FALSE(set.ok());
  auto lines = Lines(set.status());
  EXPECT_EQ(lines.size(), files->size()) << set.status();
  for (const auto& file : *files) {
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [&](const std::string& l) { return absl::StartsWith(l, file + ": "); }),
              1)
        << file;
  }
}

// --- whole sets -----------------------------------------------------------------------------

TEST(InteractionLoader, AllProblemsOfAllFilesAtOnce) {
  auto set = LoadTexts({
      {"a.json", R"({"interactions": [
          {"name": "a", "method": "user.UserService/GetUser", "request": {"body": {"usrId": "1"}}},
          {"name": "b", "method": "user.UserService/GetUsr"}]})"},
      {"ok.json", R"({"interactions": [{"name": "fine", "method": "user.UserService/GetUser"}]})"},
      {"b.json", R"({"interactions": [
          {"name": "c", "method": "user.UserService/ListUsers", "request": {"body": {"limit": "x"}},
           "times": 0}]})"},
  });
  ASSERT_FALSE(set.ok());
  auto lines = Lines(set.status());
  ASSERT_EQ(lines.size(), 4u) << set.status();
  EXPECT_THAT(lines[0], HasSubstr("a.json: /interactions/0/request/body/usrId: "));
  EXPECT_THAT(lines[1], HasSubstr("a.json: /interactions/1/method: "));
  EXPECT_THAT(set.status().message(), HasSubstr("b.json: /interactions/0/request/body/limit: "));
  EXPECT_THAT(set.status().message(), HasSubstr("b.json: /interactions/0/times: "));
  EXPECT_THAT(set.status().message(), ::testing::Not(HasSubstr("ok.json")));
}

TEST(InteractionLoader, TwoBadFilesFromDiskGiveTwoLines) {
  auto set = InteractionSet::Load(UserSchema(), {SourcePath("tests/data/bad/unknown_field.json"),
                                                 SourcePath("tests/data/bad/bad_enum.json")});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(Lines(set.status()).size(), 2u) << set.status();
}

TEST(InteractionLoader, AMissingPathDoesNotHideTheProblemsOfTheOtherFiles) {
  std::string missing =
      (fs::path(::testing::TempDir()) / "understudy_loader_no_such_dir" / "nope.json").string();
  std::string bad = SourcePath("tests/data/bad/unknown_field.json");
  auto set =
      InteractionSet::Load(UserSchema(), {missing, bad, SourcePath("contracts/user_service")});
  ASSERT_FALSE(set.ok());
  auto lines = Lines(set.status());
  ASSERT_EQ(lines.size(), 2u) << set.status();
  EXPECT_EQ(lines[0], missing + ": no such file or directory");
  EXPECT_THAT(lines[1], ::testing::StartsWith(bad + ": /interactions/0/request/body/userid: "));
  EXPECT_THAT(lines[1], HasSubstr("no field \"userid\" in user.GetUserRequest"));
  // In either order.
  auto reversed = InteractionSet::Load(UserSchema(), {bad, missing});
  ASSERT_FALSE(reversed.ok());
  EXPECT_THAT(std::string(reversed.status().message()), HasSubstr(missing + ": "));
  EXPECT_THAT(std::string(reversed.status().message()), HasSubstr(bad + ": /interactions/0/"));
}

TEST(InteractionLoader, BinMetadataLiteralMustBeBase64) {
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/GetUser",
      "request": {"metadata": {"x-trace-bin": "AQ"}}})")
                  .ok());
  EXPECT_EQ(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "request": {"metadata": {"x-trace-bin": "not base64!"}}})"),
            "test.json: /interactions/0/request/metadata/x-trace-bin: a -bin header takes base64");
}

TEST(InteractionLoader, ASetWithOneBadFileDoesNotLoad) {
  auto set = InteractionSet::Load(UserSchema(), {SourcePath("contracts/user_service"),
                                                 SourcePath("tests/data/bad/unknown_field.json")});
  ASSERT_FALSE(set.ok());
  auto lines = Lines(set.status());
  ASSERT_EQ(lines.size(), 1u) << set.status();
  EXPECT_THAT(lines[0], HasSubstr("unknown_field.json"));
}

TEST(InteractionLoader, UserServiceContractsLoadCleanly) {
  auto schema = UserSchema();
  auto set = InteractionSet::Load(schema, {SourcePath("contracts/user_service")});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_GE((*set)->interactions().size(), 8u);
  for (const auto* service : schema->services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      EXPECT_NE((*set)->ForMethod(service->method(i)), nullptr)
          << "no contract for " << MethodName(service->method(i));
    }
  }
  // Load order follows the sorted file list, then the order within each file.
  for (size_t i = 0; i < (*set)->interactions().size(); ++i) {
    EXPECT_EQ((*set)->interactions()[i]->load_order, i);
  }
}

TEST(InteractionLoader, InventoryInteractionsLoadCleanly) {
  auto schema = InventorySchema();
  auto set = InteractionSet::Load(schema, {SourcePath("tests/data/inventory")});
  ASSERT_TRUE(set.ok()) << set.status();
  for (const char* method :
       {"GetItem", "SearchItems", "WatchStock", "AdjustStock", "SyncInventory"}) {
    const auto* m = schema->FindMethod(std::string("inventory.v1.InventoryService/") + method);
    ASSERT_NE(m, nullptr) << method;
    EXPECT_NE((*set)->ForMethod(m), nullptr) << method;
  }
  // The same files against the other schema are all wrong.
  EXPECT_FALSE(InteractionSet::Load(UserSchema(), {SourcePath("tests/data/inventory")}).ok());
}

TEST(InteractionLoader, ListFilesFindsJsonRecursivelyInOrder) {
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_loader_list";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  for (const char* name : {"b.json", "a.json", "notes.txt", "sub/c.json"}) {
    std::ofstream(dir / name) << "{}";
  }
  auto files = InteractionSet::ListFiles({dir.string()});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(*files, ::testing::ElementsAre((dir / "a.json").string(), (dir / "b.json").string(),
                                             (dir / "sub/c.json").string()));
  auto missing = InteractionSet::ListFiles({(dir / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("nope"));
}

// --- the RPC kind decides the shape ---------------------------------------------------------

TEST(InteractionLoader, UnaryTakesBodiesOnly) {
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/GetUser",
      "request": {"body": {"userId": "1"}}, "response": {"body": {"user": {"id": "1"}}}})")
                  .ok());
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "request": {"stream": [{"userId": "1"}]}})"),
              HasSubstr("test.json: /interactions/0/request/stream: "));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "conversation": [{"client": {"userId": "1"}}]})"),
              HasSubstr("test.json: /interactions/0/conversation: "));
}

TEST(InteractionLoader, ServerStreamingRespondsWithAStream) {
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/StreamUsers",
      "request": {"body": {"limit": 2}},
      "response": {"stream": [{"body": {"user": {"id": "1"}}, "delayMs": 5}, {"body": {}}],
                   "status": {"code": "ABORTED"}}})")
                  .ok());
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/StreamUsers",
      "response": {"body": {"user": {"id": "1"}}}})"),
              HasSubstr("/interactions/0/response/body: user.UserService/StreamUsers is server "
                        "streaming"));
  // Each stream entry wraps its message in "body".
  EXPECT_THAT(std::string(LoadOne(R"({"name": "n", "method": "user.UserService/StreamUsers",
      "response": {"stream": [{"user": {"id": "1"}}]}})")
                              .message()),
              HasSubstr("/interactions/0/response/stream/0/user: "));
}

TEST(InteractionLoader, ClientStreamingMatchesAStream) {
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/CreateUserStream",
      "request": {"stream": [{"name": "a"}, {"name": {"$regex": "b.*"}}]},
      "response": {"body": {"createdCount": 2}}})")
                  .ok());
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/CreateUserStream",
      "response": {"stream": [{"body": {}}]}})"),
              HasSubstr("/interactions/0/response/stream: "));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/CreateUserStream",
      "request": {"stream": {"name": "a"}}})"),
              HasSubstr("/interactions/0/request/stream: expected an array"));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/CreateUserStream",
      "request": {"stream": [{"name": "a"}, {"nmae": "b"}]}})"),
              HasSubstr("/interactions/0/request/stream/1/nmae: "));
}

TEST(InteractionLoader, BidiStreamingUsesAConversation) {
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/BidirectionalStream",
      "request": {"metadata": {"x-a": "1"}},
      "conversation": [{"client": {"action": "ping"}}, {"server": {"message": "pong"}, "delayMs": 1}],
      "response": {"trailers": {"x-b": "2"}, "status": {"code": "OK"}}})")
                  .ok());
  for (const char* wrong : {
           R"({"name": "n", "method": "user.UserService/BidirectionalStream",
               "request": {"body": {"action": "ping"}}})",
           R"({"name": "n", "method": "user.UserService/BidirectionalStream",
               "request": {"stream": [{"action": "ping"}]}})",
           R"({"name": "n", "method": "user.UserService/BidirectionalStream",
               "response": {"body": {"message": "pong"}}})",
           R"({"name": "n", "method": "user.UserService/BidirectionalStream",
               "response": {"stream": [{"body": {"message": "pong"}}]}})"}) {
    EXPECT_THAT(ErrorOf(wrong), HasSubstr("use \"conversation\"")) << wrong;
  }
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/BidirectionalStream",
      "conversation": [{"client": {"action": "a"}, "server": {"message": "b"}}]})"),
              HasSubstr("/interactions/0/conversation/0: "));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/BidirectionalStream",
      "conversation": [{"server": {"mesage": "b"}}]})"),
              HasSubstr("/interactions/0/conversation/0/server/mesage: no field \"mesage\""));
}

// --- fields of an interaction ---------------------------------------------------------------

TEST(InteractionLoader, DuplicateNamesAreOnlyForbiddenWithinAFile) {
  const char* file =
      R"({"interactions": [{"name": "same", "method": "user.UserService/GetUser"}]})";
  EXPECT_TRUE(LoadTexts({{"a.json", file}, {"b.json", file}}).ok());
  auto set = LoadTexts({{"a.json", R"({"interactions": [
      {"name": "same", "method": "user.UserService/GetUser"},
      {"name": "other", "method": "user.UserService/GetUser"},
      {"name": "same", "method": "user.UserService/ListUsers"}]})"}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(
      std::string(set.status().message()),
      "a.json: /interactions/2/name: duplicate name \"same\": /interactions/0 has it already");
}

TEST(InteractionLoader, TimesMustBeAtLeastOne) {
  const std::string base = R"({"name": "n", "method": "user.UserService/GetUser", "times": )";
  EXPECT_TRUE(LoadOne(base + "1}").ok());
  for (const char* bad : {"0", "-1", "\"2\"", "1.5"}) {
    EXPECT_THAT(ErrorOf(base + bad + "}"), HasSubstr("test.json: /interactions/0/times: ")) << bad;
  }
}

TEST(InteractionLoader, StatesNeedAScenario) {
  EXPECT_EQ(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser", "whenState": "x"})"),
            "test.json: /interactions/0/whenState: needs a \"scenario\" to belong to");
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser", "setState": "x"})"),
              HasSubstr("/interactions/0/setState: "));
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/GetUser", "scenario": "s",
                          "whenState": "Started", "setState": "Done"})")
                  .ok());
}

TEST(InteractionLoader, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser", "respones": {}})"),
            "test.json: /interactions/0/respones: unknown field \"respones\" in an interaction "
            "(did you mean \"response\"?)");
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
                          "request": {"bdy": {}}})"),
              HasSubstr("/interactions/0/request/bdy: unknown field \"bdy\" in a request "
                        "(did you mean \"body\"?)"));
  auto set = LoadTexts({{"f.json", R"({"interactions": [], "interaction": []})"}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(std::string(set.status().message()),
            "f.json: /interaction: unknown field \"interaction\" (did you mean \"interactions\"?)");
}

TEST(InteractionLoader, NameAndMethodAreRequired) {
  EXPECT_THAT(ErrorOf(R"({"method": "user.UserService/GetUser"})"),
              HasSubstr("test.json: /interactions/0/name: missing"));
  EXPECT_THAT(ErrorOf(R"({"name": "", "method": "user.UserService/GetUser"})"),
              HasSubstr("/interactions/0/name: "));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "GetUser"})"),
              HasSubstr("/interactions/0/method: \"GetUser\" is not \"package.Service/Method\""));
  EXPECT_THAT(ErrorOf(R"("not an object")"), HasSubstr("test.json: /interactions/0: "));
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "/user.UserService/GetUser"})").ok());
}

TEST(InteractionLoader, MetadataKeysAreLowerCase) {
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
                          "request": {"metadata": {"Authorization": "x"}}})"),
              HasSubstr("/interactions/0/request/metadata/Authorization: "));
}

TEST(InteractionLoader, ResponseRules) {
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "response": {"status": {"code": "NOT_FOUND"}, "body": {"user": {}}}})"),
              HasSubstr("/interactions/0/response/body: a non-OK status sends no body"));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "response": {"body": {"user": {"id": {"$regex": "[0-9]+"}}}}})"),
              HasSubstr("/interactions/0/response/body/user/id: "));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "response": {"body": {"user": {"id": "{{request.body.id}}"}}}})"),
              HasSubstr("/interactions/0/response/body/user/id: no field \"id\" in "
                        "user.GetUserRequest"));
  EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
      "response": {"delayMs": -1}})"),
              HasSubstr("/interactions/0/response/delayMs: "));
}

TEST(InteractionLoader, CompiledInteractionHoldsItsFields) {
  auto set = LoadTexts({{"f.json", R"({"interactions": [
      {"name": "first", "method": "user.UserService/ListUsers", "priority": 3, "times": 2,
       "scenario": "s", "whenState": "Started", "setState": "Next", "given": ["a user exists"],
       "request": {"metadata": {"x-a": {"$any": true}}, "body": {"limit": 1, "offset": {"$gt": 0}}},
       "response": {"delayMs": 7, "headers": {"x-h": "v"}, "trailers": {"x-t": "w"},
                    "body": {"totalCount": 3}}},
      {"name": "second", "method": "user.UserService/GetUser",
       "response": {"status": {"code": "NOT_FOUND", "message": "no"}}}]})"}});
  ASSERT_TRUE(set.ok()) << set.status();
  const auto& all = (*set)->interactions();
  ASSERT_EQ(all.size(), 2u);
  const Interaction& first = *all[0];
  EXPECT_EQ(first.name, "first");
  EXPECT_EQ(first.file, "f.json");
  EXPECT_EQ(first.pointer, "/interactions/0");
  EXPECT_EQ(first.Label(), "\"first\" (f.json)");
  EXPECT_EQ(first.kind, RpcKind::kUnary);
  EXPECT_EQ(first.priority, 3);
  EXPECT_EQ(first.times, 2);
  EXPECT_EQ(first.scenario, "s");
  EXPECT_EQ(first.when_state, "Started");
  EXPECT_EQ(first.set_state, "Next");
  EXPECT_THAT(first.given, ::testing::ElementsAre("a user exists"));
  EXPECT_EQ(first.specificity, 2);  // two body constraints; $any counts for nothing
  EXPECT_EQ(first.delay_ms, 7);
  ASSERT_EQ(first.headers.size(), 1u);
  ASSERT_EQ(first.trailers.size(), 1u);
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(first.status.code, 0);
  const Interaction& second = *all[1];
  EXPECT_EQ(second.times, -1);
  EXPECT_EQ(second.body, nullptr);
  EXPECT_EQ(second.status.code, 5);
  EXPECT_TRUE(second.messages.empty());
  EXPECT_EQ(second.load_order, 1u);
}

TEST(InteractionLoader, UnaryWithoutBodySendsTheEmptyMessage) {
  auto set = LoadTexts({{"f.json", R"({"interactions": [
      {"name": "n", "method": "user.UserService/DeleteUser"}]})"}});
  ASSERT_TRUE(set.ok()) << set.status();
  const Interaction& i = *(*set)->interactions()[0];
  ASSERT_EQ(i.messages.size(), 1u);
  EXPECT_EQ(i.messages[0].message.fixed_bytes(), "");
}

TEST(InteractionLoader, CompileInteractionAddsOneAtRunTime) {
  Diagnostics diagnostics;
  auto i = CompileInteraction(json::parse(R"({"name": "added", "method": "user.UserService/GetUser",
                                              "request": {"body": {"userId": "1"}}})"),
                              "runtime", "/added/0", *UserSchema(), &diagnostics);
  ASSERT_NE(i, nullptr) << diagnostics.ToStatus();
  EXPECT_EQ(i->specificity, 1);
  auto bad = CompileInteraction(json::parse(R"({"name": "x", "method": "user.UserService/GetUser",
                                                "request": {"body": {"userid": "1"}}})"),
                                "runtime", "/added/1", *UserSchema(), &diagnostics);
  EXPECT_EQ(bad, nullptr);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics.items()[0].ToString(),
            "runtime: /added/1/request/body/userid: no field \"userid\" in user.GetUserRequest "
            "(did you mean \"userId\"?)");
}

// --- JSON text ------------------------------------------------------------------------------

TEST(InteractionLoader, InvalidJsonReportsLineAndColumn) {
  auto set =
      LoadTexts({{"broken.json", "{\n  \"interactions\": [\n    {\"name\": \"a\",}\n  ]\n}\n"}});
  ASSERT_FALSE(set.ok());
  auto lines = Lines(set.status());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("broken.json: invalid JSON: "));
  EXPECT_THAT(lines[0], HasSubstr("line 3, column"));
}

TEST(InteractionLoader, JsonNestedDeeperThanTheLimitIsRejectedCleanly) {
  for (int depth : {kMaxJsonDepth + 10, 100000}) {
    std::string text =
        "{\"interactions\": [{\"name\": \"deep\", \"method\": "
        "\"user.UserService/GetUser\", \"given\": ";
    text += std::string(depth, '[') + std::string(depth, ']') + "}]}";
    auto set = LoadTexts({{"deep.json", text}});
    ASSERT_FALSE(set.ok()) << depth;
    EXPECT_EQ(std::string(set.status().message()),
              "deep.json: JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels")
        << depth;
  }
  // Just under the limit parses (and then fails on its content, not its depth).
  Diagnostics diagnostics;
  std::string shallow = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  EXPECT_FALSE(ParseJsonText(shallow, "ok.json", &diagnostics).is_discarded());
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
}

TEST(InteractionLoader, DeepMatchersWithinTheJsonLimitAreRejectedCleanly) {
  std::string spec = "\"1\"";
  for (int i = 0; i < 100; ++i) spec = "{\"$oneOf\": [" + spec + "]}";
  absl::Status status = LoadOne(R"({"name": "n", "method": "user.UserService/GetUser",
                                    "request": {"body": {"userId": )" +
                                spec + "}}}");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("nested deeper than"));
}

TEST(InteractionLoader, FilesOverTheSizeLimitAreRefused) {
  std::string huge(kMaxFileBytes + 1, ' ');
  auto set = LoadTexts({{"huge.json", huge}});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("huge.json: "));
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("limit"));
}

// --- duplicate keys, delays, proto2 required fields, paths that are not files --------------

TEST(InteractionLoader, DuplicateKeysAreRefusedAtTheSecondOccurrenceAtEveryDepth) {
  struct Case {
    std::string text;
    std::string pointer;
  };
  const std::string head = R"({"interactions": [{"name": "n", "method": "user.UserService/GetUser", )";
  const std::vector<Case> cases = {
      {R"({"interactions": [], "interactions": []})", "/interactions"},
      {head + R"("name": "m"}]})", "/interactions/0/name"},
      {head + R"("request": {"body": {"userId": "1", "userId": "2"}}}]})",
       "/interactions/0/request/body/userId"},
      {head + R"("request": {"metadata": {"x-a": "1", "x-a": "1"}}}]})",
       "/interactions/0/request/metadata/x-a"},
      {head + R"("request": {"body": {"userId": {"$regex": "a", "$regex": "b"}}}}]})",
       "/interactions/0/request/body/userId/$regex"},
      {head + R"("response": {"headers": {"x-b": "1", "x-b": "2"}}}]})",
       "/interactions/0/response/headers/x-b"},
      {R"({"interactions": [{}, {"name": "n", "given": [{"a/b": 1, "a/b": 2}]}]})",
       "/interactions/1/given/0/a~1b"},
  };
  for (const auto& c : cases) {
    Diagnostics diagnostics;
    EXPECT_TRUE(ParseJsonText(c.text, "dup.json", &diagnostics).is_discarded()) << c.text;
    ASSERT_EQ(diagnostics.size(), 1u) << c.text;
    const Diagnostic& d = diagnostics.items()[0];
    EXPECT_EQ(d.pointer, c.pointer) << c.text;
    EXPECT_THAT(d.message, HasSubstr("duplicate key")) << c.text;
    EXPECT_THAT(d.message, HasSubstr("already")) << c.text;
  }
  // Every duplicate of a file at once; the same key in two objects is no duplicate.
  Diagnostics diagnostics;
  ParseJsonText(R"({"a": {"k": 1}, "b": {"k": 1, "k": 2, "j": 0, "j": 0}})", "two.json",
                &diagnostics);
  EXPECT_EQ(diagnostics.size(), 2u) << diagnostics.ToStatus();
  Diagnostics none;
  json parsed = ParseJsonText(R"({"a": {"k": [1, {"k": 2}]}, "k": "\u006b"})", "ok.json", &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus();
  EXPECT_EQ(parsed, json::parse(R"({"a": {"k": [1, {"k": 2}]}, "k": "k"})"));
}

TEST(InteractionLoader, DelaysAboveTwentyFourHoursOrNegativeAreRefused) {
  const std::string longest = std::to_string(kMaxDelayMs);
  for (const std::string& delay :
       {std::string("4611686018427387904"), std::string("9223372036854775807"),
        std::string("18446744073709551615"), std::string("-1"), std::to_string(kMaxDelayMs + 1)}) {
    EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/GetUser",
                            "response": {"delayMs": )" + delay + "}}"),
                HasSubstr("/interactions/0/response/delayMs: expected an integer from 0 to " +
                          longest + ", got " + delay));
    EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/StreamUsers",
                            "response": {"stream": [{"body": {}}, {"body": {}, "delayMs": )" +
                        delay + "}]}}"),
                HasSubstr("/interactions/0/response/stream/1/delayMs: "));
    EXPECT_THAT(ErrorOf(R"({"name": "n", "method": "user.UserService/BidirectionalStream",
                            "conversation": [{"server": {}, "delayMs": )" + delay + "}]}"),
                HasSubstr("/interactions/0/conversation/0/delayMs: "));
  }
  EXPECT_TRUE(LoadOne(R"({"name": "n", "method": "user.UserService/GetUser",
                          "response": {"delayMs": )" + longest + "}}").ok());
}

std::shared_ptr<const Schema> RequiredSchema() {
  SchemaOptions options;
  options.proto_files = {SourcePath("tests/data/required/required.proto")};
  auto schema = Schema::Load(options);
  EXPECT_TRUE(schema.ok()) << schema.status();
  return schema.ok() ? std::shared_ptr<const Schema>(std::move(*schema)) : nullptr;
}

// The problems of one interaction against tests/data/required/required.proto, one per line.
std::vector<std::string> RequiredProblems(const std::string& interaction) {
  auto set = LoadTexts({{"r.json", "{\"interactions\": [" + interaction + "]}"}}, RequiredSchema());
  return set.ok() ? std::vector<std::string>{} : Lines(set.status());
}

TEST(InteractionLoader, MissingRequiredFieldsAreProblemsAtTheirPointer) {
  using ::testing::ElementsAre;
  using ::testing::IsEmpty;
  // Responses: bodies, stream entries, server steps, examples, status details, the empty body.
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Get",
      "request": {"body": {"id": "1"}}, "response": {"body": {"items": [{"note": "x"}]}}})"),
              ElementsAre("r.json: /interactions/0/response/body: missing required fields \"id\", "
                          "\"items[0].code\" of required.Reply (proto2 required: the message "
                          "cannot be sent without them)"));
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Watch",
      "request": {"body": {"id": "1"}}, "response": {"stream": [{"body": {"id": "1"}}, {"body": {}}]}})"),
              ElementsAre(HasSubstr("/interactions/0/response/stream/1/body: missing required "
                                    "field \"id\"")));
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Chat",
      "conversation": [{"server": {"id": "1", "inner": {"$any": true, "$example": {}}}}]})"),
              ElementsAre(HasSubstr("/interactions/0/conversation/0/server: missing required "
                                    "field \"inner.code\"")));
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Get",
      "request": {"body": {"id": "1"}}, "response": {"status": {"code": "NOT_FOUND",
      "details": [{"@type": "type.googleapis.com/required.Inner", "note": "x"}]}}})"),
              ElementsAre(HasSubstr("/interactions/0/response/status/details/0: missing required "
                                    "field \"code\" of required.Inner")));
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Get",
      "request": {"body": {"id": "1"}}})"),
              ElementsAre(HasSubstr("/interactions/0/response: missing required field \"id\"")));
  // Requests: bodies (nested too), stream entries, client steps, $exact and $oneOf alternatives.
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Get",
      "request": {"body": {"inner": {"note": "x"}}}, "response": {"body": {"id": "1"}}})"),
              ElementsAre(HasSubstr("/interactions/0/request/body/inner: missing required field "
                                    "\"code\" of required.Inner"),
                          HasSubstr("/interactions/0/request/body: missing required field \"id\" "
                                    "of required.Request")));
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Chat",
      "conversation": [{"client": {"$oneOf": [{"id": "1"}, {"$exact": {"inner": {"code": "c"}}}]}}]})"),
              ElementsAre(HasSubstr("/interactions/0/conversation/0/client/$oneOf/1/$exact: "
                                    "missing required field \"id\"")));
  // Everything set, or left to templates that set it: no problem.
  EXPECT_THAT(RequiredProblems(R"({"name": "n", "method": "required.Required/Get",
      "request": {"body": {"id": {"$regex": "[0-9]+", "$example": "1"}, "inner": {"code": "c"}}},
      "response": {"body": {"id": "{{request.body.id}}", "items": [{"code": "x"}]}}})"),
              IsEmpty());
}

TEST(InteractionLoader, InteractionPathsThatAreNotRegularFilesAreRefused) {
  fs::path dir = fs::path(::testing::TempDir()) / ("loader_test_fifo." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string fifo = (dir / "fifo.json").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, std::string("/dev/zero")}) {
    auto set = InteractionSet::Load(UserSchema(), {path});
    ASSERT_FALSE(set.ok()) << path;
    EXPECT_EQ(std::string(set.status().message()), path + ": not a regular file or a directory");
  }
  // In a directory, only regular *.json files are read: the FIFO is passed over.
  std::ofstream(dir / "ok.json") << R"({"interactions": []})";
  EXPECT_TRUE(InteractionSet::Load(UserSchema(), {dir.string()}).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace understudy
