#include "src/check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/src/test_util.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing_util::UserSchema;

std::string Write(const std::string& name, const std::string& text) {
  fs::path dir =
      fs::path(::testing::TempDir()) / ("understudy_check_test." + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return (dir / name).string();
}

std::vector<std::string> Labels(const CheckReport& report) {
  std::vector<std::string> out;
  for (const auto* i : report.Broken()) out.push_back(i->pointer + " " + i->name);
  return out;
}

TEST(CheckFiles, GroupsEveryProblemByInteraction) {
  std::string file = Write("groups.json", R"({"interactions": [
      {"name": "two problems", "method": "user.UserService/GetUser",
       "request": {"body": {"usrId": "1"}}, "response": {"body": {"user": {"nmae": "x"}}}},
      {"name": "fine", "method": "user.UserService/GetUser"},
      {"method": "user.UserService/GetUsr"}]})");
  CheckReport report = CheckFiles(*UserSchema(), {file});
  EXPECT_EQ(report.files, 1u);
  ASSERT_EQ(report.interactions.size(), 3u);
  EXPECT_EQ(report.interactions[0].problems, 2u) << report.diagnostics.ToStatus();
  EXPECT_EQ(report.interactions[1].problems, 0u);
  EXPECT_THAT(Labels(report), ElementsAre("/interactions/0 two problems", "/interactions/2 "));
  EXPECT_EQ(report.interactions[2].Label(), "/interactions/2 (" + file + ")");
  EXPECT_EQ(report.interactions[0].Label(), "\"two problems\" (" + file + ")");
}

// A problem of a whole file is reported but breaks no interaction in particular.
TEST(CheckFiles, FileProblemsNameNoInteraction) {
  std::string bad = Write("bad.json", "{\"interactions\": [");
  CheckReport report = CheckFiles(*UserSchema(), {bad, "/no/such/dir"});
  EXPECT_EQ(report.diagnostics.size(), 2u) << report.diagnostics.ToStatus();
  EXPECT_TRUE(report.interactions.empty());
  EXPECT_TRUE(report.Broken().empty());
}

}  // namespace
}  // namespace understudy
