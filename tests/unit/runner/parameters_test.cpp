#include "runner/parameters.hpp"

#include <gtest/gtest.h>

#include "notebook/markdown.hpp"

namespace tejun::runner {
namespace {

using notebook::Json;

std::string number_text(const Json& value) {
  return value.is_number() ? value.as_number().text : "<not a number>";
}

TEST(TypedValue, TypesValuesAsPapermillDoes) {
  EXPECT_TRUE(typed_value("True").as_bool());
  EXPECT_TRUE(typed_value("true").as_bool());
  EXPECT_FALSE(typed_value("False").as_bool());
  EXPECT_TRUE(typed_value("None").is_null());
  EXPECT_EQ(number_text(typed_value("42")), "42");
  EXPECT_EQ(number_text(typed_value("-7")), "-7");
  EXPECT_EQ(number_text(typed_value("007")), "7");  // Python's int("007") is 7
  EXPECT_EQ(number_text(typed_value("1_000")), "1000");
  EXPECT_EQ(number_text(typed_value(" 12 ")), "12");
  EXPECT_EQ(number_text(typed_value("2.5")), "2.5");
  EXPECT_EQ(number_text(typed_value("1e3")), "1000.0");
  EXPECT_EQ(number_text(typed_value(".5")), "0.5");
  EXPECT_EQ(number_text(typed_value("inf")), "Infinity");
  EXPECT_EQ(number_text(typed_value("-Infinity")), "-Infinity");
  EXPECT_EQ(number_text(typed_value("nan")), "NaN");
  EXPECT_EQ(typed_value("TRUE").as_string(), "TRUE");  // only papermill's exact words
  EXPECT_EQ(typed_value("1.2.3").as_string(), "1.2.3");
  EXPECT_EQ(typed_value("0x10").as_string(), "0x10");  // Python's int() and float() refuse it
  EXPECT_EQ(typed_value("1_").as_string(), "1_");
  EXPECT_EQ(typed_value("").as_string(), "");
  EXPECT_EQ(typed_value("prod").as_string(), "prod");
}

TEST(SetParameter, LaterValueReplacesInPlace) {
  Parameters parameters;
  set_parameter(parameters, "a", Json("1"));
  set_parameter(parameters, "b", Json("2"));
  set_parameter(parameters, "a", Json("3"));
  ASSERT_EQ(parameters.size(), 2U);
  EXPECT_EQ(parameters[0].name, "a");
  EXPECT_EQ(parameters[0].value.as_string(), "3");
}

TEST(ParametersSource, WritesPythonLiterals) {
  Parameters parameters;
  set_parameter(parameters, "name", Json("say \"hi\"\n\\ é"));
  set_parameter(parameters, "count", typed_value("3"));
  set_parameter(parameters, "ratio", typed_value("inf"));
  set_parameter(parameters, "on", Json(true));
  set_parameter(parameters, "none", Json(nullptr));
  set_parameter(parameters, "list", Json(notebook::JsonArray{Json("a"), typed_value("1")}));
  set_parameter(parameters, "map", Json(notebook::JsonObject{{"k", Json(false)}}));
  auto source = parameters_source(parameters, ParameterLanguage::python);
  ASSERT_TRUE(source);
  EXPECT_EQ(*source,
            "# Parameters\n"
            "name = \"say \\\"hi\\\"\\n\\\\ é\"\n"
            "count = 3\n"
            "ratio = float('inf')\n"
            "on = True\n"
            "none = None\n"
            "list = [\"a\", 1]\n"
            "map = {\"k\": False}\n");
}

TEST(ParametersSource, WritesShellExports) {
  Parameters parameters;
  set_parameter(parameters, "NS", Json("it's prod"));
  set_parameter(parameters, "on", Json(false));
  set_parameter(parameters, "none", Json(nullptr));
  set_parameter(parameters, "list", Json(notebook::JsonArray{typed_value("1"), Json("x")}));
  auto source = parameters_source(parameters, ParameterLanguage::shell);
  ASSERT_TRUE(source);
  EXPECT_EQ(*source,
            "# Parameters\n"
            "export NS='it'\\''s prod'\n"
            "export on='false'\n"
            "export none=''\n"
            "export list='[1,\"x\"]'\n");
}

TEST(ParametersSource, RefusesNamesTheLanguageCannotAssign) {
  Parameters parameters;
  set_parameter(parameters, "a-b", Json("1"));
  auto source = parameters_source(parameters, ParameterLanguage::shell);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("'a-b' is not a valid shell variable name"), std::string::npos);
  parameters.front().name = "1st";
  EXPECT_FALSE(parameters_source(parameters, ParameterLanguage::python));
}

TEST(ParameterLanguage, KnowsPythonAndShellOnly) {
  EXPECT_EQ(*parameter_language("python"), ParameterLanguage::python);
  EXPECT_EQ(*parameter_language("bash"), ParameterLanguage::shell);
  auto r = parameter_language("R");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'R'"), std::string::npos);
}

TEST(ParametersFromYaml, ReadsAMappingAndNamesTheFileInErrors) {
  auto parameters = parameters_from_yaml("a: 1\nb: text\nc: [1, 2]\n", "p.yaml");
  ASSERT_TRUE(parameters);
  ASSERT_EQ(parameters->size(), 3U);
  EXPECT_EQ(number_text((*parameters)[0].value), "1");
  auto bad = parameters_from_yaml("a: [1,\n", "p.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where.path, "p.yaml");
}

notebook::Cell code_cell(std::string source, std::vector<std::string> tags = {}) {
  notebook::Cell cell;
  cell.type = notebook::CellType::code;
  cell.source = std::move(source);
  if (!tags.empty()) {
    notebook::JsonArray array;
    for (auto& tag : tags) {
      array.emplace_back(std::move(tag));
    }
    cell.metadata.emplace_back("tags", Json(std::move(array)));
  }
  return cell;
}

TEST(InjectParameters, GoesAfterTheParametersCellAndReplacesAnEarlierInjection) {
  notebook::Notebook notebook;
  notebook.cells.push_back(code_cell("import os"));
  notebook.cells.push_back(code_cell("alpha = 1", {"parameters"}));
  notebook.cells.push_back(code_cell("alpha = 99", {"injected-parameters"}));
  notebook.cells.push_back(code_cell("print(alpha)"));
  Parameters given;
  set_parameter(given, "alpha", typed_value("2"));
  auto injection = inject_parameters(notebook, given, ParameterLanguage::python);
  ASSERT_TRUE(injection);
  ASSERT_EQ(notebook.cells.size(), 4U);
  ASSERT_EQ(injection->cell, 2U);
  EXPECT_EQ(notebook.cells[2].source, "# Parameters\nalpha = 2\n");
  EXPECT_EQ(notebook.cells[3].source, "print(alpha)");
  EXPECT_TRUE(injection->warnings.empty());
}

TEST(InjectParameters, UsesFrontMatterDefaultsAndWarnsAboutUndeclaredNames) {
  auto notebook = notebook::read_markdown(
      "---\nparameters:\n  namespace: default\n  replicas: 3\n---\n\n# Title\n\n```sh\necho $namespace\n```\n");
  ASSERT_TRUE(notebook);
  Parameters given;
  set_parameter(given, "replicas", typed_value("5"));
  set_parameter(given, "typo", Json("x"));
  auto injection = inject_parameters(*notebook, given, ParameterLanguage::shell);
  ASSERT_TRUE(injection);
  ASSERT_TRUE(injection->cell);
  const auto& cell = notebook->cells[*injection->cell];
  EXPECT_EQ(cell.source, "# Parameters\nexport namespace='default'\nexport replicas='5'\nexport typo='x'\n");
  // Before the first step, after the title.
  EXPECT_EQ(notebook->cells[*injection->cell + 1].source, "echo $namespace");
  ASSERT_EQ(injection->warnings.size(), 1U);
  EXPECT_NE(injection->warnings[0].find("'typo'"), std::string::npos);
}

TEST(InjectParameters, InjectsNothingWithoutParameters) {
  notebook::Notebook notebook;
  notebook.cells.push_back(code_cell("true"));
  auto injection = inject_parameters(notebook, {}, ParameterLanguage::shell);
  ASSERT_TRUE(injection);
  EXPECT_FALSE(injection->cell);
  EXPECT_EQ(notebook.cells.size(), 1U);
}

}  // namespace
}  // namespace tejun::runner
