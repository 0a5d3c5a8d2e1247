#include "src/interaction_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing_util::ParseMessage;
using testing_util::UserSchema;

// A set of the given interactions (JSON objects, comma-separated) in one file "f.json".
std::shared_ptr<InteractionSet> SetOf(const std::string& interactions) {
  auto set = InteractionSet::LoadSources(
      UserSchema(), {{"f.json", absl::StrCat(R"({"interactions": [)", interactions, "]}")}});
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

std::string GetUser(const std::string& name, const std::string& body, int priority = 0) {
  return absl::StrCat(R"({"name": ")", name, R"(", "method": "user.UserService/GetUser", )",
                      R"("priority": )", priority, R"(, "request": {"body": )", body, "}}");
}

const MethodInteractions* ForMethod(const InteractionSet& set, const std::string& method) {
  const auto* descriptor = set.schema().FindMethod(method);
  EXPECT_NE(descriptor, nullptr) << method;
  return descriptor == nullptr ? nullptr : set.ForMethod(descriptor);
}

std::vector<std::string> RankedNames(const MethodInteractions& m) {
  std::vector<std::string> names;
  for (const auto* i : m.ranked) names.push_back(i->name);
  return names;
}

TEST(InteractionSet, RanksByPriorityThenSpecificityThenLoadOrder) {
  auto set = SetOf(
      absl::StrCat(GetUser("any", "{}"), ",",                       //
                   GetUser("specific", R"({"userId": "1"})"), ",",  //
                   GetUser("urgent", "{}", 1), ",",                 //
                   GetUser("specific later", R"({"userId": "2"})"), ",",
                   GetUser("fallback", R"({"userId": {"$regex": "x", "$contains": "x"}})", -1)));
  ASSERT_NE(set, nullptr);
  const auto* m = ForMethod(*set, "user.UserService/GetUser");
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(RankedNames(*m),
              ElementsAre("urgent", "specific", "specific later", "any", "fallback"));
  EXPECT_EQ(ForMethod(*set, "user.UserService/ListUsers"), nullptr);
  EXPECT_EQ(set->shared_schema(), UserSchema());
}

TEST(InteractionSet, FewInteractionsAreNotIndexed) {
  std::string all;
  for (int i = 0; i < 7; ++i) {
    absl::StrAppend(&all, i ? "," : "",
                    GetUser(absl::StrCat("u", i), absl::StrCat(R"({"userId": "u)", i, "\"}")));
  }
  auto set = SetOf(all);
  ASSERT_NE(set, nullptr);
  const auto* m = ForMethod(*set, "user.UserService/GetUser");
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->indexes, IsEmpty());
  auto request = ParseMessage(set->schema(), "user.GetUserRequest", R"({"userId": "u3"})");
  std::vector<size_t> candidates;
  m->Candidates(request.get(), &candidates);
  EXPECT_THAT(candidates, ElementsAre(0, 1, 2, 3, 4, 5, 6));
}

TEST(InteractionSet, IndexBucketsTopLevelLiterals) {
  std::string all = GetUser("regex", R"({"userId": {"$regex": "u1.*"}})");
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&all, ",",
                    GetUser(absl::StrCat("u", i), absl::StrCat(R"({"userId": "u)", i, "\"}")));
  }
  absl::StrAppend(&all, ",", GetUser("anything", "{}", -5));
  auto set = SetOf(all);
  ASSERT_NE(set, nullptr);
  const auto* m = ForMethod(*set, "user.UserService/GetUser");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->indexes.size(), 1u);
  EXPECT_EQ(m->indexes[0].field->name(), "user_id");
  EXPECT_EQ(m->indexes[0].buckets.size(), 10u);
  // Ranks: "regex" (0, first loaded), u0..u9 (1..10), "anything" (11, lowest priority).
  EXPECT_THAT(m->unindexed, ElementsAre(0, 11));
  std::vector<size_t> candidates;
  auto u3 = ParseMessage(set->schema(), "user.GetUserRequest", R"({"userId": "u3"})");
  m->Candidates(u3.get(), &candidates);
  EXPECT_THAT(candidates, ElementsAre(0, 4, 11));
  EXPECT_EQ(m->ranked[4]->name, "u3");
  auto other = ParseMessage(set->schema(), "user.GetUserRequest", R"({"userId": "zzz"})");
  m->Candidates(other.get(), &candidates);
  EXPECT_THAT(candidates, ElementsAre(0, 11));
  m->Candidates(nullptr, &candidates);  // no message to look at: everything
  EXPECT_EQ(candidates.size(), m->ranked.size());
}

TEST(InteractionSet, SeveralIndexedFieldsMergeTheirCandidatesInRankOrder) {
  std::string all;
  for (int i = 0; i < 5; ++i) {
    absl::StrAppend(&all, i ? "," : "", R"({"name": "limit )", i,
                    R"(", "method": "user.UserService/ListUsers", "request": {"body": {"limit": )",
                    i, "}}}");
  }
  for (const char* status :
       {"USER_STATUS_ACTIVE", "USER_STATUS_INACTIVE", "USER_STATUS_SUSPENDED"}) {
    absl::StrAppend(&all, R"(, {"name": ")", status,
                    R"(", "method": "user.UserService/ListUsers", "priority": 1,)",
                    R"( "request": {"body": {"status": ")", status, "\"}}}");
  }
  auto set = SetOf(all);
  ASSERT_NE(set, nullptr);
  const auto* m = ForMethod(*set, "user.UserService/ListUsers");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->indexes.size(), 2u);
  EXPECT_THAT(m->unindexed, IsEmpty());
  auto request = ParseMessage(set->schema(), "user.ListUsersRequest",
                              R"({"limit": 3, "status": "USER_STATUS_INACTIVE"})");
  std::vector<size_t> candidates;
  m->Candidates(request.get(), &candidates);
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_LT(candidates[0], candidates[1]);
  EXPECT_EQ(m->ranked[candidates[0]]->name, "USER_STATUS_INACTIVE");
  EXPECT_EQ(m->ranked[candidates[1]]->name, "limit 3");
}

TEST(InteractionSet, ClientStreamingMethodsAreNotIndexed) {
  std::string all;
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(
        &all, i ? "," : "", R"({"name": "c)", i,
        R"(", "method": "user.UserService/CreateUserStream", "request": {"stream": [{"name": "n)",
        i, "\"}]}}");
  }
  auto set = SetOf(all);
  ASSERT_NE(set, nullptr);
  const auto* m = ForMethod(*set, "user.UserService/CreateUserStream");
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->indexes, IsEmpty());
  EXPECT_EQ(m->ranked.size(), 10u);
}

TEST(InteractionSet, LoadOrderRunsAcrossSources) {
  auto set = InteractionSet::LoadSources(
      UserSchema(), {{"a.json", absl::StrCat(R"({"interactions": [)", GetUser("a0", "{}"), ",",
                                             GetUser("a1", "{}"), "]}")},
                     {"b.json", absl::StrCat(R"({"interactions": [)", GetUser("b0", "{}"), "]}")}});
  ASSERT_TRUE(set.ok()) << set.status();
  const auto& all = (*set)->interactions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]->name, "b0");
  EXPECT_EQ(all[2]->file, "b.json");
  EXPECT_EQ(all[2]->load_order, 2u);
  const auto* m = ForMethod(**set, "user.UserService/GetUser");
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(RankedNames(*m), ElementsAre("a0", "a1", "b0"));
}

TEST(InteractionSet, ScenarioStatesStartInStarted) {
  ScenarioStates states;
  EXPECT_EQ(states.Get("cart"), "Started");
  states.Set("cart", "Full");
  EXPECT_EQ(states.Get("cart"), "Full");
  EXPECT_EQ(states.Get("other"), "Started");
  EXPECT_EQ(states.All(), (std::map<std::string, std::string>{{"cart", "Full"}}));
  states.Reset();
  EXPECT_EQ(states.Get("cart"), "Started");
  EXPECT_THAT(states.All(), IsEmpty());
}

TEST(InteractionSet, EmptySourcesGiveAnEmptySet) {
  auto set = InteractionSet::LoadSources(UserSchema(), {{"empty.json", R"({"interactions": []})"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT((*set)->interactions(), IsEmpty());
  EXPECT_EQ(ForMethod(**set, "user.UserService/GetUser"), nullptr);
}

// A large file compiles on several threads: the interactions still come out in file order, and
// the problems in the order one-by-one compiling reports them (each interaction's own, then its
// duplicate name).
TEST(InteractionSet, LargeFilesCompileInParallelInFileOrder) {
  std::vector<std::string> interactions;
  for (int i = 0; i < 300; ++i) interactions.push_back(GetUser(absl::StrCat("u", i), "{}"));
  auto set = InteractionSet::LoadSources(
      UserSchema(), {{"big.json", absl::StrCat(R"({"interactions": [)",
                                               absl::StrJoin(interactions, ","), "]}")}});
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->interactions().size(), 300u);
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ((*set)->interactions()[i]->name, absl::StrCat("u", i));
    EXPECT_EQ((*set)->interactions()[i]->pointer, absl::StrCat("/interactions/", i));
  }

  interactions[70] = GetUser("u70", R"({"bogus": 1})");
  interactions[151] = GetUser("u10", R"({"also": 2})");  // invalid: its name is not checked
  interactions[152] = GetUser("u11", "{}");
  interactions[299] = R"({"name": "last", "method": "user.UserService/GetUsr"})";
  auto bad = InteractionSet::LoadSources(
      UserSchema(), {{"big.json", absl::StrCat(R"({"interactions": [)",
                                               absl::StrJoin(interactions, ","), "]}")}});
  ASSERT_FALSE(bad.ok());
  std::vector<std::string> lines = absl::StrSplit(bad.status().message(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << bad.status();
  EXPECT_THAT(lines[0], HasSubstr("big.json: /interactions/70/request/body/bogus: "));
  EXPECT_THAT(lines[1], HasSubstr("big.json: /interactions/151/request/body/also: "));
  EXPECT_THAT(lines[2], HasSubstr("big.json: /interactions/152/name: duplicate name \"u11\""));
  EXPECT_THAT(lines[3], HasSubstr("big.json: /interactions/299/method: "));
}

}  // namespace
}  // namespace understudy
