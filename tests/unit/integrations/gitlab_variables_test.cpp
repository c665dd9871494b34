#include "integrations/gitlab/gitlab_variables.hpp"

#include <gtest/gtest.h>

#include <map>

#include "notebook/json_parser.hpp"

namespace tejun::integrations::gitlab {
namespace {

Variable variable(std::string key, std::string value, std::string scope = "*") {
  Variable result;
  result.key = std::move(key);
  result.value = std::move(value);
  result.environment_scope = std::move(scope);
  return result;
}

std::map<std::string, std::string> values(const std::vector<JobVariable>& job) {
  std::map<std::string, std::string> result;
  for (const auto& entry : job) {
    result[entry.variable.key] = entry.variable.value;
  }
  return result;
}

TEST(WildcardMatch, StarMatchesAnyRun) {
  EXPECT_TRUE(wildcard_match("review/*", "review/app-1"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("*/app-*", "review/app-2"));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(wildcard_match("review/*", "staging"));
  EXPECT_FALSE(wildcard_match("a*b", "aXXbYYc"));
  EXPECT_FALSE(wildcard_match("production", "production-2"));
}

TEST(ScopeRank, ExactBeatsWildcardBeatsStar) {
  const std::optional<std::string> environment = "review/app-1";
  EXPECT_EQ(scope_rank("review/app-1", environment), 2);
  EXPECT_EQ(scope_rank("review/*", environment), 1);
  EXPECT_EQ(scope_rank("*", environment), 0);
  EXPECT_EQ(scope_rank("production", environment), std::nullopt);
  // A job without an environment gets the * variables only.
  EXPECT_EQ(scope_rank("*", std::nullopt), 0);
  EXPECT_EQ(scope_rank("review/*", std::nullopt), std::nullopt);
}

// The table of "What a job sees" in the GitLab stand-in's README, for platform/sre/oncall.
std::vector<VariableLevel> oncall_levels() {
  return {
      {"instance", {variable("REGION", "eu-west-1"), variable("LOG_LEVEL", "warn")}},
      {"group platform",
       {variable("REGION", "us-east-1"), variable("LOG_LEVEL", "info"),
        variable("DEPLOY_HOST", "deploy.platform.example.internal"),
        variable("DEPLOY_HOST", "review.platform.example.internal", "review/*"),
        variable("DEPLOY_HOST", "app-1.review.platform.example.internal", "review/app-1")}},
      {"group platform/sre",
       {variable("LOG_LEVEL", "debug"), variable("DEPLOY_HOST", "prod.sre.example.internal", "production"),
        variable("RUNBOOK_URL", "https://runbooks.example.com/sre-production", "production")}},
      {"project platform/sre/oncall",
       {variable("LOG_LEVEL", "trace", "review/*"), variable("RUNBOOK_URL", "https://runbooks.example.com/oncall")}},
  };
}

TEST(JobVariables, NoEnvironmentGetsStarVariablesAndLaterLevelsWin) {
  const auto job = values(job_variables(oncall_levels(), std::nullopt, true));
  EXPECT_EQ(job.at("REGION"), "us-east-1");
  EXPECT_EQ(job.at("LOG_LEVEL"), "debug");
  EXPECT_EQ(job.at("DEPLOY_HOST"), "deploy.platform.example.internal");
  EXPECT_EQ(job.at("RUNBOOK_URL"), "https://runbooks.example.com/oncall");
}

TEST(JobVariables, TheLevelComesBeforeTheScope) {
  const auto job = values(job_variables(oncall_levels(), "production", true));
  EXPECT_EQ(job.at("DEPLOY_HOST"), "prod.sre.example.internal");            // the closer group
  EXPECT_EQ(job.at("RUNBOOK_URL"), "https://runbooks.example.com/oncall");  // the project's *, over a group's exact
}

TEST(JobVariables, ExactBeatsWildcardWithinALevel) {
  auto job = values(job_variables(oncall_levels(), "review/app-1", true));
  EXPECT_EQ(job.at("DEPLOY_HOST"), "app-1.review.platform.example.internal");
  EXPECT_EQ(job.at("LOG_LEVEL"), "trace");
  job = values(job_variables(oncall_levels(), "review/app-2", true));
  EXPECT_EQ(job.at("DEPLOY_HOST"), "review.platform.example.internal");
}

TEST(JobVariables, UnprotectedRefsDoNotGetProtectedVariables) {
  auto secret = variable("PAGER_KEY", "pgr-Sre-Key-0021");
  secret.is_protected = true;
  const std::vector<VariableLevel> levels = {{"project p", {secret, variable("A", "a")}}};
  EXPECT_EQ(values(job_variables(levels, std::nullopt, true)).count("PAGER_KEY"), 1U);
  EXPECT_EQ(values(job_variables(levels, std::nullopt, false)).count("PAGER_KEY"), 0U);
}

TEST(Expand, ReplacesReferencesOnceAndKeepsUnknownOnes) {
  const std::map<std::string, std::string, std::less<>> known = {{"REGION", "us-east-1"}, {"A", "$B"}};
  const auto lookup = [&known](std::string_view name) -> const std::string* {
    const auto found = known.find(name);
    return found == known.end() ? nullptr : &found->second;
  };
  std::vector<std::string> unknown;
  EXPECT_EQ(expand("https://notify.example.com/$REGION", lookup, unknown), "https://notify.example.com/us-east-1");
  EXPECT_EQ(expand("${REGION}-x $REGION.y", lookup, unknown), "us-east-1-x us-east-1.y");
  EXPECT_EQ(expand("cost: $$5", lookup, unknown), "cost: $5");
  EXPECT_EQ(expand("$A", lookup, unknown), "$B");  // one pass
  EXPECT_EQ(expand("trailing $", lookup, unknown), "trailing $");
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(expand("/schedules/$SCHEDULE_ID and ${OTHER}", lookup, unknown), "/schedules/$SCHEDULE_ID and ${OTHER}");
  EXPECT_EQ(unknown, (std::vector<std::string>{"SCHEDULE_ID", "OTHER"}));
}

TEST(VariableFromJson, ReadsGitLabsEntity) {
  auto json = notebook::parse_json(
      R"({"variable_type":"file","key":"KUBECONFIG","value":"apiVersion: v1\n","hidden":false,"protected":true,)"
      R"("masked":false,"raw":true,"environment_scope":"production","description":null})");
  ASSERT_TRUE(json);
  const auto parsed = variable_from_json(*json);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key, "KUBECONFIG");
  EXPECT_EQ(parsed->value, "apiVersion: v1\n");
  EXPECT_TRUE(parsed->file);
  EXPECT_TRUE(parsed->is_protected);
  EXPECT_TRUE(parsed->raw);
  EXPECT_FALSE(parsed->masked);
  EXPECT_EQ(parsed->environment_scope, "production");
  // Instance variables have no scope: "*".
  json = notebook::parse_json(R"({"key":"REGION","value":"eu-west-1"})");
  ASSERT_TRUE(json);
  EXPECT_EQ(variable_from_json(*json)->environment_scope, "*");
  json = notebook::parse_json(R"({"key":"X","value":"y","masked":"yes"})");
  ASSERT_TRUE(json);
  EXPECT_FALSE(variable_from_json(*json));
}

}  // namespace
}  // namespace tejun::integrations::gitlab
