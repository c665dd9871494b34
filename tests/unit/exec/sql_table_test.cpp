#include "exec/sql_table.hpp"

#include <gtest/gtest.h>

namespace tejun::exec {
namespace {

SqlTable table_of(std::vector<SqlColumn> columns, std::vector<std::vector<std::optional<std::string>>> rows) {
  SqlTable table;
  table.columns = std::move(columns);
  table.total = rows.size();
  table.rows = std::move(rows);
  return table;
}

TEST(SqlTextTable, LooksLikePsql) {
  const auto table = table_of({{"id", SqlType::integer, false}, {"name", SqlType::string, false}},
                              {{"1", "alice"}, {"2", std::nullopt}});
  EXPECT_EQ(sql_text_table(table),
            " id | name\n"
            "----+-------\n"
            "  1 | alice\n"
            "  2 | NULL\n"
            "(2 rows)");
}

TEST(SqlTextTable, ShowsEmptyStringsAsNothingAndEscapesLineBreaks) {
  const auto table = table_of({{"v", SqlType::string, false}}, {{""}, {"a\nb"}});
  EXPECT_EQ(sql_text_table(table),
            "  v\n"
            "------\n"
            "\n"
            " a\\nb\n"
            "(2 rows)");
}

TEST(SqlTextTable, StatesTheTotalWhenRowsWereCut) {
  auto table = table_of({{"n", SqlType::integer, false}}, {{"1"}});
  table.total = 2500;
  EXPECT_NE(sql_text_table(table).find("(1 of 2500 rows shown; 2499 more not shown"), std::string::npos);
  table.state = SqlTable::State::counting;
  EXPECT_NE(sql_text_table(table).find("(first 1 row shown; counting the rest"), std::string::npos);
}

TEST(SqlHtmlTable, EscapesEveryNameAndValue) {
  const auto table =
      table_of({{"<b>", SqlType::string, false}}, {{"<script>alert('x')</script> & \"q\""}, {std::nullopt}});
  const auto html = sql_html_table(table);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"), std::string::npos);
  EXPECT_NE(html.find("<th>&lt;b&gt;</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"null\"><em>NULL</em></td>"), std::string::npos);
}

TEST(SqlDataResource, TypesValuesAsTableSchemaSays) {
  const auto table = table_of({{"i", SqlType::integer, false},
                               {"n", SqlType::number, false},
                               {"b", SqlType::boolean, false},
                               {"j", SqlType::object, true},
                               {"i", SqlType::string, false}},
                              {{"7", "NaN", "t", "{\"k\": [1]}", std::nullopt}});
  EXPECT_EQ(sql_data_resource(table),
            "{\"data\":[{\"i\":7,\"n\":\"NaN\",\"b\":true,\"j\":{\"k\":[1]},\"i_2\":null}],"
            "\"schema\":{\"fields\":[{\"name\":\"i\",\"type\":\"integer\"},{\"name\":\"n\",\"type\":\"number\"},"
            "{\"name\":\"b\",\"type\":\"boolean\"},{\"name\":\"j\",\"type\":\"object\"},"
            "{\"name\":\"i_2\",\"type\":\"string\"}]}}");
}

TEST(CsvField, QuotesAsRfc4180SaysAndKeepsNullApartFromEmpty) {
  std::string line;
  append_csv_field(line, SqlValue("plain"));
  line += ',';
  append_csv_field(line, SqlValue("a,\"b\"\r\nc"));
  line += ',';
  append_csv_field(line, SqlValue(""));
  line += ',';
  append_csv_field(line, std::nullopt);
  EXPECT_EQ(line, "plain,\"a,\"\"b\"\"\r\nc\",\"\",");
}

TEST(SqlDataResource, TurnsPostgresArraysIntoJsonArrays) {
  SqlColumn ints{"ints", SqlType::array, false, SqlType::integer};
  SqlColumn texts{"texts", SqlType::array, false, SqlType::string};
  const auto table =
      table_of({ints, texts}, {{"{{1,2},{3,NULL}}", "{\"a \\\"b\\\"\",NULL,c}"}, {"[0:1]={7,8}", "{oops"}});
  EXPECT_EQ(
      sql_data_resource(table),
      "{\"data\":[{\"ints\":[[1,2],[3,null]],\"texts\":[\"a \\\"b\\\"\",null,\"c\"]},"
      "{\"ints\":[7,8],\"texts\":\"{oops\"}],"
      "\"schema\":{\"fields\":[{\"name\":\"ints\",\"type\":\"array\"},{\"name\":\"texts\",\"type\":\"array\"}]}}");
}

TEST(SqlTextTable, AlignsWideCharactersByTheirWidth) {
  const auto table = table_of({{"w", SqlType::string}, {"n", SqlType::integer}}, {{"日本", "1"}, {"ab", "2"}});
  EXPECT_EQ(sql_text_table(table),
            "  w   | n\n"
            "------+---\n"
            " 日本 | 1\n"
            " ab   | 2\n"
            "(2 rows)");
}

}  // namespace
}  // namespace tejun::exec
