// complete_request: magic names, variable names and commands from the session's bash
// (compgen), file names relative to the session's working directory.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "exec/interpreter.hpp"

namespace tejun::exec {
namespace {

bool is_word_break(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '|' || c == '&' || c == '(' || c == ')' || c == '<' ||
         c == '>' || c == '=' || c == '"' || c == '\'' || c == '`';
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    if (newline != 0) {
      lines.emplace_back(text.substr(0, newline));
    }
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  return lines;
}

// True when the word starting at `start` is the first word of a command.
bool is_command_position(std::string_view code, std::size_t start) {
  while (start > 0) {
    const char c = code[start - 1];
    if (c == ' ' || c == '\t') {
      --start;
      continue;
    }
    return c == '\n' || c == ';' || c == '|' || c == '&' || c == '(';
  }
  return true;
}

}  // namespace

Completion Interpreter::complete(std::string_view code, std::size_t cursor) {
  cursor = std::min(cursor, code.size());
  std::size_t start = cursor;
  while (start > 0 && !is_word_break(code[start - 1])) {
    --start;
  }
  const auto word = code.substr(start, cursor - start);
  Completion completion{{}, start, cursor};
  const bool line_start = start == 0 || code[start - 1] == '\n';
  if (word.starts_with('%') && line_start) {
    for (const auto& magic : magic_table()) {
      if (magic.name.starts_with(word)) {
        completion.matches.emplace_back(magic.name);
      }
    }
    return completion;
  }
  if (auto dollar = word.rfind('$'); dollar != std::string_view::npos) {
    auto name_start = dollar + 1;
    if (name_start < word.size() && word[name_start] == '{') {
      ++name_start;
    }
    const auto prefix = word.substr(name_start);
    completion.cursor_start = start + name_start;
    if (auto names = capture("compgen -v -- " + shell_quote(prefix))) {
      completion.matches = split_lines(*names);
    }
    return completion;
  }
  if (is_command_position(code, start) && word.find('/') == std::string_view::npos) {
    if (auto names = capture("compgen -c -- " + shell_quote(word))) {
      completion.matches = split_lines(*names);
      std::erase_if(completion.matches, [](const std::string& name) { return name.starts_with("__tejun"); });
    }
    return completion;
  }
  auto files = capture("compgen -f -- " + shell_quote(word));
  if (!files) {
    return completion;
  }
  completion.matches = split_lines(*files);
  const std::filesystem::path directory = session_directory();
  for (auto& match : completion.matches) {
    std::error_code ec;
    const std::filesystem::path path(match);
    if (std::filesystem::is_directory(path.is_absolute() ? path : directory / path, ec)) {
      match += '/';
    }
  }
  return completion;
}

}  // namespace tejun::exec
