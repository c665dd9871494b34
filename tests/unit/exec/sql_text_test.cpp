#include "exec/sql_text.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tejun::exec {
namespace {

std::vector<std::string> texts(std::string_view sql) {
  std::vector<std::string> result;
  for (const auto& statement : split_sql(sql)) {
    result.emplace_back(statement.text);
  }
  return result;
}

TEST(SplitSql, SplitsAtSemicolonsOutsideQuotesAndComments) {
  EXPECT_EQ(texts("select 1; select 2"), (std::vector<std::string>{"select 1", " select 2"}));
  EXPECT_EQ(texts("select ';'; select \"a;b\" from t"),
            (std::vector<std::string>{"select ';'", " select \"a;b\" from t"}));
  EXPECT_EQ(texts("select 'it''s;'; select 2"), (std::vector<std::string>{"select 'it''s;'", " select 2"}));
  EXPECT_EQ(texts("select E'a\\';b'; select 2"), (std::vector<std::string>{"select E'a\\';b'", " select 2"}));
  EXPECT_EQ(texts("select 1 -- a; comment\n; select 2"),
            (std::vector<std::string>{"select 1 -- a; comment\n", " select 2"}));
  EXPECT_EQ(texts("select /* a /* nested; */ ; */ 1; select 2"),
            (std::vector<std::string>{"select /* a /* nested; */ ; */ 1", " select 2"}));
}

TEST(SplitSql, KeepsDollarQuotedBodiesWhole) {
  const auto statements = texts("do $$ begin raise notice 'x;'; end $$; do $f$ a; $$ b; $f$;");
  ASSERT_EQ(statements.size(), 2U);
  EXPECT_EQ(statements[0], "do $$ begin raise notice 'x;'; end $$");
  EXPECT_EQ(statements[1], " do $f$ a; $$ b; $f$");
  // $1 is a parameter, not a dollar quote.
  EXPECT_EQ(texts("select $1; select 2").size(), 2U);
}

TEST(SplitSql, KeepsBeginEndBodiesOfCreateStatementsWhole) {
  const auto statements = texts(
      "create trigger t after insert on a begin insert into log values (new.id); "
      "update c set n = case when n > 1 then 0 else n end; end; begin; select 1; end");
  ASSERT_EQ(statements.size(), 4U);
  EXPECT_TRUE(statements[0].ends_with("else n end; end"));
  EXPECT_EQ(statements[1], " begin");  // a transaction's BEGIN is a statement of its own
  EXPECT_EQ(statements[2], " select 1");
  EXPECT_EQ(statements[3], " end");
  EXPECT_EQ(texts("create function f() returns int begin atomic select 1; select 2; end; select 3").size(), 2U);
}

TEST(SplitSql, LeavesOutEmptyStatementsAndKeepsOffsets) {
  const auto statements = split_sql(";; -- only a comment\n;\nselect 1;\n  /* c */  ");
  ASSERT_EQ(statements.size(), 1U);
  EXPECT_EQ(statements[0].text, "\nselect 1");
  EXPECT_EQ(statements[0].offset, 22U);
  EXPECT_TRUE(split_sql("").empty());
}

TEST(SqlParameters, FindsNamesOutsideQuotesAndSkipsCasts) {
  const auto parameters =
      find_sql_parameters("select :a, ':b', \":c\", x::int, $$ :d $$ -- :e\n, /* :f */ :g_1, :a from t where y := 1");
  ASSERT_EQ(parameters.size(), 3U);
  EXPECT_EQ(parameters[0].name, "a");
  EXPECT_EQ(parameters[0].offset, 7U);
  EXPECT_EQ(parameters[1].name, "g_1");
  EXPECT_EQ(parameters[2].name, "a");
}

TEST(SqlParameters, ArraySlicesAreNotParameters) {
  const auto parameters = find_sql_parameters("select a[lo:hi], a[1:n], f(x):y, (:p), x=:q");
  ASSERT_EQ(parameters.size(), 2U);
  EXPECT_EQ(parameters[0].name, "p");
  EXPECT_EQ(parameters[1].name, "q");
}

TEST(SqlParameters, NumbersThemForPostgresAndMapsPositionsBack) {
  const std::string_view sql = "select :name, :other, :name from t where x = 'y'";
  const auto numbered = number_sql_parameters(sql, find_sql_parameters(sql));
  EXPECT_EQ(numbered.text, "select $1, $2, $1 from t where x = 'y'");
  EXPECT_EQ(numbered.names, (std::vector<std::string>{"name", "other"}));
  // The 'from' after the placeholders, and a position inside "$2".
  EXPECT_EQ(numbered.original_offset(numbered.text.find("from")), sql.find("from"));
  EXPECT_EQ(numbered.original_offset(numbered.text.find("$2") + 1), sql.find(":other"));
  EXPECT_EQ(numbered.original_offset(3), 3U);
}

TEST(FillUrl, EncodesUserinfoAndPathButNotTheHost) {
  const std::map<std::string, std::string, std::less<>> variables = {{"DB_USER", "ops"},
                                                                     {"DB_PASSWORD", "p@ss:w/rd%1"},
                                                                     {"DB_ENDPOINT", "db.example.com:5433"},
                                                                     {"DB_NAME", "app db"}};
  const auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
  auto url = fill_url("postgresql://{DB_USER}:{DB_PASSWORD}@{DB_ENDPOINT}/{DB_NAME}", lookup);
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "postgresql://ops:p%40ss%3Aw%2Frd%251@db.example.com:5433/app%20db");
  auto missing = fill_url("postgresql://{NOPE}@h/db", lookup);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("NOPE"), std::string::npos);
  EXPECT_EQ(url_placeholders("postgresql://{A}:{B}@h/{C}?x={not valid}"), (std::vector<std::string>{"A", "B", "C"}));
}

TEST(RedactUrl, LeavesThePasswordOut) {
  EXPECT_EQ(redact_url("postgresql://ops:secret@db:5432/app"), "postgresql://ops@db:5432/app");
  EXPECT_EQ(redact_url("postgresql://ops@db/app"), "postgresql://ops@db/app");
  EXPECT_EQ(redact_url("postgresql://db/app?user=ops&password=secret&sslmode=require"),
            "postgresql://db/app?user=ops&password=[MASKED]&sslmode=require");
  EXPECT_EQ(redact_url("sqlite:///data.db"), "sqlite:///data.db");
}

TEST(RedactUrl, FindsPasswordsHoldingSlashesAndAts) {
  EXPECT_EQ(url_password("postgresql://app:Xk3/9aZ@db/prod").value_or(""), "Xk3/9aZ");
  EXPECT_EQ(redact_url("postgresql://app:Xk3/9aZ@db/prod"), "postgresql://app@db/prod");
  EXPECT_EQ(url_password("postgresql://app:p@ss@db/prod").value_or(""), "p@ss");
  EXPECT_FALSE(url_password("postgresql://db/prod?x=a@b"));
}

TEST(PercentDecode, DecodesWhatPercentEncodeMakes) {
  EXPECT_EQ(percent_decode(percent_encode("sub/app db%1.db")), "sub/app db%1.db");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

TEST(TextPosition, CountsLinesAndCodePoints) {
  const std::string_view text = "%%sql\nselect 'é', x\nfrom t";
  const auto position = text_position(text, text.find('x'));
  EXPECT_EQ(position.line, 2U);
  EXPECT_EQ(position.column, 13U);
  EXPECT_EQ(position.line_text, "select 'é', x");
}

}  // namespace
}  // namespace tejun::exec
