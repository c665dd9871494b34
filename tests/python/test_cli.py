"""The tejun command line: help, version, and one clear line with exit code 2 for bad input."""

import unittest

from tejun_test_support import CORPUS, TemporaryFolder, run_tejun


class CommandLine(unittest.TestCase):
    def setUp(self):
        self.folder = TemporaryFolder()
        self.addCleanup(self.folder.cleanup)

    def assert_one_line_error(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("tejun: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertEqual(result.stdout, "")

    def test_version_and_help(self):
        version = run_tejun("--version")
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"^tejun \d+\.\d+\.\d+\n$")
        help_text = run_tejun("--help")
        self.assertEqual(help_text.returncode, 0)
        self.assertIn("convert", help_text.stdout)
        self.assertIn("check", help_text.stdout)

    def test_unknown_option_or_command(self):
        self.assert_one_line_error(run_tejun("--bogus"), "--bogus")
        self.assert_one_line_error(run_tejun("frobnicate"), "frobnicate")
        self.assert_one_line_error(run_tejun(), "subcommand")
        self.assert_one_line_error(run_tejun("convert", "only-one.md"), "output")

    def test_missing_input(self):
        missing = self.folder.path / "missing.ipynb"
        output = self.folder.path / "out.md"
        self.assert_one_line_error(run_tejun("convert", missing, output), str(missing), "No such file")
        self.assertFalse(output.exists())

    def test_broken_json_names_line_and_column_and_keeps_the_old_output(self):
        broken = self.folder.path / "broken.ipynb"
        broken.write_text('{\n "cells": [,\n}\n', encoding="utf-8")
        output = self.folder.path / "out.md"
        output.write_text("precious\n", encoding="utf-8")
        self.assert_one_line_error(run_tejun("convert", broken, output), f"{broken}:2:12: invalid JSON")
        self.assertEqual(output.read_text(encoding="utf-8"), "precious\n")
        self.assertEqual(sorted(p.name for p in self.folder.path.iterdir()), ["broken.ipynb", "out.md"])

    def test_schema_error_names_the_json_pointer(self):
        bad = self.folder.path / "bad.ipynb"
        bad.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": 1}]}',
                       encoding="utf-8")
        self.assert_one_line_error(run_tejun("check", bad), "at /cells/0/cell_type: expected a string, found a number")

    def test_markdown_errors_name_line_and_column(self):
        bad = self.folder.path / "bad.md"
        bad.write_text("# Runbook\n\n```sh {name=\"unclosed}\necho\n```\n", encoding="utf-8")
        self.assert_one_line_error(run_tejun("convert", bad, self.folder.path / "x.ipynb"), f"{bad}:3:13:")

    def test_unknown_extension(self):
        result = run_tejun("convert", CORPUS / "markdown" / "prose-only.md", self.folder.path / "out.txt")
        self.assert_one_line_error(result, "unknown runbook format '.txt'")

    def test_check_accepts_the_corpus(self):
        paths = sorted(CORPUS.glob("*/*"))
        result = run_tejun("check", *paths)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")


if __name__ == "__main__":
    unittest.main()
