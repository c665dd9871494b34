#include "notebook/ipynb.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "notebook/file_io.hpp"

namespace tejun::notebook {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(TEJUN_TEST_DATA_DIR) / "corpus" / "ipynb";

Notebook read(std::string_view text) {
  auto notebook = read_ipynb(text);
  EXPECT_TRUE(notebook) << (notebook ? "" : notebook.error().to_string());
  return notebook ? *notebook : Notebook{};
}

base::Error read_error(std::string_view text) {
  auto notebook = read_ipynb(text);
  EXPECT_FALSE(notebook);
  return notebook ? base::Error{} : notebook.error();
}

TEST(Ipynb, CorpusInJupyterLayoutRoundTripsByteForByte) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    if (entry.path().filename().string().starts_with("noncanonical")) {
      continue;
    }
    auto text = read_file(entry.path().string());
    ASSERT_TRUE(text);
    auto notebook = read_ipynb_file(entry.path().string());
    ASSERT_TRUE(notebook) << notebook.error().to_string();
    EXPECT_EQ(to_ipynb(*notebook), *text) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(Ipynb, JoinsMultiLineStrings) {
  const Notebook notebook = read(R"({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [
    {"cell_type": "code", "source": ["a\n", "b"], "metadata": {}, "execution_count": 2, "outputs": [
      {"output_type": "stream", "name": "stdout", "text": ["x\n", "y\n"]},
      {"output_type": "display_data", "metadata": {},
       "data": {"text/plain": ["1\n", "2"], "application/json": ["k", "v"]}}]}]})");
  ASSERT_EQ(notebook.cells.size(), 1U);
  const Cell& cell = notebook.cells[0];
  EXPECT_EQ(cell.source, "a\nb");
  EXPECT_EQ(cell.outputs[0].text, "x\ny\n");
  EXPECT_EQ(*find_member(cell.outputs[1].data, "text/plain"), Json("1\n2"));
  // JSON MIME types are data, not text: they stay arrays.
  EXPECT_TRUE(find_member(cell.outputs[1].data, "application/json")->is_array());
}

TEST(Ipynb, WritesStringsSplitIntoLinesWhereJupyterDoes) {
  const Notebook notebook = read(R"({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [
    {"cell_type": "code", "source": "a\nb", "metadata": {}, "execution_count": null, "outputs": [
      {"output_type": "display_data", "metadata": {},
       "data": {"text/plain": "1\n2", "image/png": ["iVBO", "Rw0K"], "image/svg+xml": "<svg>\n</svg>"}}]}]})");
  const std::string written = to_ipynb(notebook);
  EXPECT_NE(written.find("\"source\": [\n    \"a\\n\",\n    \"b\"\n   ]"), std::string::npos) << written;
  EXPECT_NE(written.find("\"image/png\": \"iVBORw0K\""), std::string::npos) << written;
  EXPECT_NE(written.find("\"image/svg+xml\": [\n       \"<svg>\\n\",\n       \"</svg>\"\n      ]"), std::string::npos)
      << written;
  EXPECT_TRUE(written.ends_with("}\n"));
}

TEST(Ipynb, GivesCellsIdsOnlyWhereTheFormatHasThem) {
  const char* without_ids = R"({"nbformat": 4, "nbformat_minor": %d, "metadata": {}, "cells": [
    {"cell_type": "markdown", "source": "a", "metadata": {}},
    {"cell_type": "markdown", "source": "b", "metadata": {}, "id": "same"},
    {"cell_type": "markdown", "source": "c", "metadata": {}, "id": "same"}]})";
  std::string v4_5(512, '\0');
  v4_5.resize(static_cast<std::size_t>(std::snprintf(v4_5.data(), v4_5.size(), without_ids, 5)));
  const Notebook five = read(v4_5);
  EXPECT_EQ(five.cells[0].id.size(), 8U);
  EXPECT_EQ(five.cells[1].id, "same");
  EXPECT_NE(five.cells[2].id, "same");  // a duplicate gets a new id, as Jupyter repairs it
  EXPECT_EQ(five.cells[2].id.size(), 8U);

  std::string v4_4(512, '\0');
  v4_4.resize(static_cast<std::size_t>(std::snprintf(v4_4.data(), v4_4.size(), without_ids, 4)));
  const Notebook four = read(v4_4);
  EXPECT_TRUE(four.cells[0].id.empty());
}

TEST(Ipynb, DropsTransientFieldsAsNbformatDoes) {
  const Notebook notebook = read(R"({"nbformat": 4, "nbformat_minor": 5,
    "metadata": {"signature": "sha256:x", "orig_nbformat": 3, "keep": 1},
    "cells": [{"cell_type": "raw", "id": "r", "source": "", "metadata": {"trusted": true, "keep": 2}}]})");
  EXPECT_EQ(notebook.metadata.size(), 1U);
  EXPECT_EQ(notebook.cells[0].metadata.size(), 1U);
}

TEST(Ipynb, KeepsUnknownFieldsAndTypes) {
  const Notebook notebook = read(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "x-top": [1],
    "cells": [{"cell_type": "future", "id": "f", "metadata": {}, "source": ["a\n", "b"], "x": {"y": 1}},
              {"cell_type": "code", "id": "c", "metadata": {}, "source": "", "execution_count": null,
               "outputs": [{"output_type": "future", "x": 2}]}]})");
  const std::string written = to_ipynb(notebook);
  for (const char* kept : {"\"x-top\"", "\"future\"", "\"y\": 1", "\"x\": 2", "\"b\""}) {
    EXPECT_NE(written.find(kept), std::string::npos) << kept << " in " << written;
  }
  EXPECT_EQ(notebook.cells[0].type, CellType::unknown);
  EXPECT_EQ(notebook.cells[1].outputs[0].type, OutputType::unknown);
}

TEST(Ipynb, NamesTheFieldOfASchemaError) {
  base::Error error = read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "code", "id": "a", "metadata": {}, "source": "", "execution_count": null,
     "outputs": [{"output_type": "stream", "name": "stdout", "text": 5}]}]})");
  EXPECT_EQ(error.code, base::ErrorCode::schema_error);
  EXPECT_EQ(error.where.pointer, "/cells/0/outputs/0/text");
  EXPECT_EQ(error.message, "expected a string or an array of strings, found a number");
}

TEST(Ipynb, ReportsEachKindOfBadInput) {
  EXPECT_EQ(read_error("[]").message, "expected a notebook object, found an array");
  EXPECT_EQ(read_error(R"({"cells": []})").where.pointer, "/nbformat");
  EXPECT_EQ(read_error(R"({"nbformat": 3, "nbformat_minor": 0, "worksheets": []})").code, base::ErrorCode::unsupported);
  EXPECT_EQ(read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}})").where.pointer, "/cells");
  EXPECT_EQ(read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []})").where.pointer,
            "/metadata");
  EXPECT_EQ(
      read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": ""}]})").where.pointer,
      "/cells/0/cell_type");
  EXPECT_EQ(read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "raw", "id": "has space", "metadata": {}, "source": ""}]})")
                .where.pointer,
            "/cells/0/id");
  EXPECT_EQ(read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "code", "id": "a", "metadata": {}, "source": "", "execution_count": "1", "outputs": []}]})")
                .where.pointer,
            "/cells/0/execution_count");
  EXPECT_EQ(read_error(R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "", "attachments": {"a/b.png": 1}}]})")
                .where.pointer,
            "/cells/0/attachments/a~1b.png");
}

TEST(Ipynb, ReportsWhereTheJsonBreaksInAFile) {
  const auto path = std::filesystem::temp_directory_path() / "tejun-ipynb-test-broken.ipynb";
  ASSERT_TRUE(write_file_atomically(path.string(), [](TextOutput& out) { out.append("{\n \"cells\": [\n  }\n"); }));
  auto notebook = read_ipynb_file(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(notebook);
  EXPECT_EQ(notebook.error().where.path, path.string());
  EXPECT_EQ(notebook.error().where.line, 3U);
  EXPECT_EQ(notebook.error().where.column, 3U);
}

}  // namespace
}  // namespace tejun::notebook
