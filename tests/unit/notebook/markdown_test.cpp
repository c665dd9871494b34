#include "notebook/markdown.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "notebook/file_io.hpp"
#include "notebook/ipynb.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/step_attributes.hpp"

namespace tejun::notebook {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(TEJUN_TEST_DATA_DIR) / "corpus" / "markdown";

Notebook read(std::string_view text) {
  auto notebook = read_markdown(text);
  EXPECT_TRUE(notebook) << (notebook ? "" : notebook.error().to_string());
  return notebook ? *notebook : Notebook{};
}

const JsonObject& tejun_of(const Cell& cell) {
  static const JsonObject kEmpty;
  const Json* tejun = find_member(cell.metadata, kTejunMetadataKey);
  return tejun != nullptr ? tejun->as_object() : kEmpty;
}

TEST(Markdown, CorpusRoundTripsByteForByte) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    auto text = read_file(entry.path().string());
    ASSERT_TRUE(text);
    EXPECT_EQ(to_markdown(read(*text)), *text) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(Markdown, FencedBlocksAreStepsAndTheRestIsProse) {
  const Notebook notebook =
      read("# Title\n\nIntro *text*.\n\n```sh {name=check confirm=true}\nkubectl get pods\n```\n\nAfter.\n");
  ASSERT_EQ(notebook.cells.size(), 3U);
  EXPECT_EQ(notebook.cells[0].type, CellType::markdown);
  EXPECT_EQ(notebook.cells[0].source, "# Title\n\nIntro *text*.");
  EXPECT_EQ(notebook.cells[1].type, CellType::code);
  EXPECT_EQ(notebook.cells[1].source, "kubectl get pods");
  EXPECT_EQ(*find_member(tejun_of(notebook.cells[1]), "language"), Json("sh"));
  const Json* attributes = find_member(tejun_of(notebook.cells[1]), "attributes");
  ASSERT_NE(attributes, nullptr);
  EXPECT_EQ(*find_member(attributes->as_object(), "name"), Json("check"));
  EXPECT_EQ(*find_member(attributes->as_object(), "confirm"), Json(true));
  EXPECT_EQ(notebook.cells[2].source, "After.");
  EXPECT_EQ(notebook.cells[1].id.size(), 8U);
}

TEST(Markdown, NestedFencesStayProse) {
  const Notebook notebook = read("- item\n\n  ```sh\n  echo nested\n  ```\n\n> ```sh\n> quoted\n> ```\n");
  ASSERT_EQ(notebook.cells.size(), 1U);
  EXPECT_EQ(notebook.cells[0].type, CellType::markdown);
}

TEST(Markdown, FrontMatterFillsNotebookMetadata) {
  const Notebook notebook =
      read("---\ntitle: Restart\nkernel: tejun\nparameters:\n  env: staging\n  replicas: 3\nowner: db\n---\n\ntext\n");
  EXPECT_EQ(*find_member(notebook.metadata, "title"), Json("Restart"));
  const Json* kernelspec = find_member(notebook.metadata, "kernelspec");
  ASSERT_NE(kernelspec, nullptr);
  EXPECT_EQ(*find_member(kernelspec->as_object(), "name"), Json("tejun"));
  EXPECT_EQ(*find_member(kernelspec->as_object(), "display_name"), Json("Runbook (tejun)"));
  const JsonObject front_matter = front_matter_of(notebook);
  ASSERT_EQ(front_matter.size(), 4U);
  const Json* parameters = find_member(front_matter, "parameters");
  EXPECT_EQ(*find_member(parameters->as_object(), "replicas"), Json::integer(3));
  EXPECT_EQ(*find_member(front_matter, "owner"), Json("db"));
}

TEST(Markdown, FrontMatterIsReRenderedWhenTheMetadataChanged) {
  Notebook notebook = read("---\n# a comment\ntitle: Old\n---\n\ntext\n");
  EXPECT_TRUE(to_markdown(notebook).starts_with("---\n# a comment\ntitle: Old\n---\n"));
  set_member(notebook.metadata, "title", Json("New"));
  EXPECT_TRUE(to_markdown(notebook).starts_with("---\ntitle: New\n---\n\ntext\n")) << to_markdown(notebook);
}

TEST(Markdown, ConsecutiveProseCellsKeepTheirBoundary) {
  Notebook notebook;
  for (const char* text : {"one", "two"}) {
    Cell cell;
    cell.type = CellType::markdown;
    cell.source = text;
    notebook.cells.push_back(cell);
  }
  const std::string written = to_markdown(notebook);
  EXPECT_EQ(written, "one\n\n<!-- cell -->\n\ntwo\n");
  EXPECT_EQ(read(written).cells.size(), 2U);
}

TEST(Markdown, IpynbToMarkdownAndBackKeepsStepsAndProse) {
  const Notebook original =
      read("---\ntitle: T\n---\n\nprose\n\n```sql {name=q}\nSELECT 1;\n```\n\n```raw\nraw text\n```\n");
  auto again = read_ipynb(to_ipynb(original));
  ASSERT_TRUE(again);
  const Notebook back = read(to_markdown(*again));
  ASSERT_EQ(back.cells.size(), 3U);
  EXPECT_EQ(back.cells[1].source, "SELECT 1;");
  EXPECT_EQ(back.cells[1].metadata, original.cells[1].metadata);
  EXPECT_EQ(back.cells[2].type, CellType::raw);
  EXPECT_EQ(back.metadata, original.metadata);
}

TEST(Markdown, ChoosesAFenceLongerThanAnyInTheCode) {
  Notebook notebook;
  Cell cell;
  cell.source = "cat <<EOF\n```\nEOF";
  notebook.cells.push_back(cell);
  EXPECT_EQ(to_markdown(notebook), "````sh\ncat <<EOF\n```\nEOF\n````\n");
  EXPECT_EQ(read(to_markdown(notebook)).cells[0].source, cell.source);
}

TEST(Markdown, InfoStringStartingWithTheFenceCharacterKeepsTheFence) {
  const Notebook notebook = read("~~~\t~odd-language\ncode\n~~~\n");
  ASSERT_EQ(notebook.cells.size(), 1U);
  const std::string written = to_markdown(notebook);
  EXPECT_EQ(written, "~~~ ~odd-language\ncode\n~~~\n");
  EXPECT_EQ(to_markdown(read(written)), written);
}

struct BadInput {
  const char* text;
  std::uint64_t line;
  std::uint64_t column;
  const char* message;
};

TEST(Markdown, ReportsWhereBadInputIs) {
  const BadInput cases[] = {
      {"---\ntitle: x\n", 1, 1, "front matter is not closed"},
      {"---\ntitle: [unclosed\n---\n", 3, 1, "front matter: invalid YAML"},
      {"---\n- a list\n---\n", 2, 1, "front matter: expected a YAML mapping"},
      {"text\n\n```sh {name=a b=}\nx\n```\n", 3, 17, "code block attributes: attribute 'b' has '=' but no value"},
      {"```sh {name=\"open\n```\n", 1, 13, "code block attributes: the value of attribute 'name' has no closing \""},
      {"```sh name=x\n```\n", 1, 7, "code block attributes: expected attributes in braces"},
      {"ok\nbad \xFF here\n", 2, 5, "invalid UTF-8"},
  };
  for (const BadInput& bad : cases) {
    auto notebook = read_markdown(bad.text);
    ASSERT_FALSE(notebook) << bad.text;
    EXPECT_EQ(notebook.error().where.line, bad.line) << bad.text;
    EXPECT_EQ(notebook.error().where.column, bad.column) << bad.text;
    EXPECT_TRUE(notebook.error().message.starts_with(bad.message)) << notebook.error().message;
  }
}

TEST(StepAttributes, ReadsBothForms) {
  auto simple = parse_step_info("sh {name=restart-db confirm=true timeout=30 note=\"two \\\"words\\\"\" flag}");
  ASSERT_TRUE(simple) << simple.error().to_string();
  EXPECT_EQ(simple->language, "sh");
  EXPECT_EQ(JsonWriter::compact(Json(simple->attributes)),
            R"({"confirm":true,"flag":true,"name":"restart-db","note":"two \"words\"","timeout":30})");
  auto json_form = parse_step_info(R"(sh {"name":"restart-db","retries":[1,2]})");
  ASSERT_TRUE(json_form);
  EXPECT_EQ(JsonWriter::compact(Json(json_form->attributes)), R"({"name":"restart-db","retries":[1,2]})");
  auto no_language = parse_step_info("{name=x}");
  ASSERT_TRUE(no_language);
  EXPECT_EQ(no_language->language, "");
}

TEST(StepAttributes, WritesWhatItReads) {
  for (const char* info : {"sh {name=restart-db confirm=true}", "sql {note=\"a b\" quoted=\"true\" n=1.5}",
                           R"(sh {"list":[1,2],"name":"x"})", "python"}) {
    auto step = parse_step_info(info);
    ASSERT_TRUE(step) << info;
    EXPECT_EQ(format_step_info(*step), info);
  }
}

}  // namespace
}  // namespace tejun::notebook
